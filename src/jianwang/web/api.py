"""REST API under /api/v1: thin routes over the facade, the services and `policy`.

Every route needs a bearer token (`Authorization: Bearer jw_…`), passes `policy.check_route`
before it runs, and reports errors in one shape (see `errors`). Lists take `limit`, `offset`
and `sort` (a field name, `-` in front for descending) and answer `{total, limit, offset,
items}`.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ..app import Jianwang
from ..domain import (
    ApiToken,
    AuditEntry,
    Identification,
    InvalidInput,
    NotFound,
    Role,
    Site,
    SiteCategory,
    SupervisionTier,
    TooLarge,
    Unauthenticated,
    User,
    Work,
    WorkType,
)
from ..services.overview import overview
from ..services.registry import WorkInput
from ..services.sites import SiteInput
from . import monitoring, policy
from .errors import ERROR_RESPONSES

bearer = HTTPBearer(auto_error=False, description="an API token: `jianwang tokens create`")


def platform(request: Request) -> Jianwang:
    return request.app.state.jw


def api_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The signed-in user of an API request; checks the route's rule in `policy.RULES`."""
    if credentials is None or not credentials.credentials.strip():
        raise Unauthenticated("a bearer token is needed: Authorization: Bearer <token>")
    user = platform(request).accounts.user_for_token(credentials.credentials.strip())
    route = request.scope.get("route")
    policy.check_route(user, request.method, getattr(route, "path", request.url.path))
    return user


Jw = Annotated[Jianwang, Depends(platform)]
WorkId = Annotated[
    str,
    Path(pattern="^[Ww]?0{0,12}[1-9][0-9]{0,8}$", description="like W000042", examples=["W000001"]),
]
SiteId = Annotated[
    str,
    Path(pattern="^[Ss]?0{0,12}[1-9][0-9]{0,8}$", description="like S000042", examples=["S000001"]),
]
Me = Annotated[User, Depends(api_user)]
Limit = Annotated[int, Query(ge=1, le=1000, description="most items returned")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items skipped")]

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_user)], responses=ERROR_RESPONSES)


# ---------------------------------------------------------------- models


class AssetOut(BaseModel):
    sha256: str
    size: int = Field(description="bytes")
    filename: str
    media: str


class WorkOut(BaseModel):
    id: str
    type: str
    title: str
    owner: str
    identifiers: dict[str, str]
    release_date: date | None
    status: str
    created_at: datetime | None
    assets: list[AssetOut]


class WorkList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[WorkOut]


class HolderOut(BaseModel):
    id: str
    name: str


class HolderList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[HolderOut]


class HolderIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)


class SiteOut(BaseModel):
    id: str
    name: str
    domains: list[str]
    category: str
    tier: str
    province: str | None
    contact: str | None
    notice_channel: str | None


class SiteList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SiteOut]


class SiteIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    domains: list[str] = Field(min_length=1, max_length=50)
    category: SiteCategory
    tier: SupervisionTier = SupervisionTier.NATIONAL
    province: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=500)
    notice_channel: str | None = Field(default=None, max_length=500)


class SegmentOut(BaseModel):
    query: list[int | float] = Field(description="[start, end): characters (text) or seconds")
    reference: list[int | float]


class MatchOut(BaseModel):
    work_id: str
    title: str
    score: float
    verdict: Literal["match", "review"]
    segments: list[SegmentOut]
    method: str | None = None
    evidence: dict[str, int | float] | None = None


class IdentificationOut(BaseModel):
    """The same object as one line of `jianwang identify --json`."""

    input: str
    media: str
    matches: list[MatchOut]


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    holder_id: str | None
    holder_name: str | None
    site_id: str | None
    site_name: str | None
    active: bool
    created_at: datetime | None


class UserList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[UserOut]


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=100)
    password: str = Field(min_length=8, max_length=1000)
    role: Role
    holder: str | None = Field(default=None, max_length=300, description="holder users")
    site: str | None = Field(default=None, max_length=20, description="operator users")
    display_name: str = Field(default="", max_length=300)


class UserPatch(BaseModel):
    active: StrictBool


class TokenOut(BaseModel):
    id: int
    user_id: int
    username: str
    name: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    created_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TokenOut]


class TokenIn(BaseModel):
    name: str = Field(default="", max_length=200)


class TokenCreated(TokenOut):
    token: str = Field(description="the secret; shown only in this response")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    via: str
    action: str
    target: str
    details: dict[str, Any]


class AuditList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AuditOut]


class Overview(BaseModel):
    works: dict[str, Any] | None = None
    holders: int | None = None
    sites: dict[str, Any]
    users: dict[str, int] | None = None
    audit_entries: int | None = None


def _plain(value: Any) -> Any:
    """JSON-ready: enums as their values, naive datetimes (SQLite) as UTC."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def work_out(w: Work) -> dict[str, Any]:
    return _plain(asdict(w))


def site_out(s: Site) -> dict[str, Any]:
    return _plain(asdict(s))


def user_out(u: User) -> dict[str, Any]:
    return _plain(asdict(u))


def token_out(t: ApiToken) -> dict[str, Any]:
    return _plain(asdict(t))


def audit_out(a: AuditEntry) -> dict[str, Any]:
    return _plain(asdict(a))


# ---------------------------------------------------------------- helpers used by the dashboard


def read_upload(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(
            f"{upload.filename or 'upload'}: over the limit of {limit / 1e6:.1f} MB",
            limit=limit,
        )
    return data


def visible_work(jw: Jianwang, user: User, work_id: str) -> Work:
    return policy.check_work(user, jw.registry.get_work(work_id))


def identify_for(jw: Jianwang, user: User, data: bytes, name: str) -> Identification:
    """Identify and keep only the matches `user` may see."""
    ident = jw.identify(data, name)
    owners: dict[str, str] = {}
    for m in ident.matches:
        try:
            owners[m.work_id] = jw.registry.get_work(m.work_id).owner
        except NotFound:
            continue
    return policy.visible_matches(user, ident, owners)


def register_work(
    jw: Jianwang,
    user: User,
    via: str,
    files: list[tuple[str, bytes]],
    wtype: str,
    title: str,
    owner: str | None,
    identifiers: dict[str, str],
    release_date: date | str | None,
) -> Work:
    if not files:
        raise InvalidInput("a work needs at least one file", field="files")
    who = policy.registering_owner(user, owner)
    with jw.writer():
        work = jw.registry.add_work(
            WorkInput(list(files), wtype, title, who, identifiers, release_date)
        )
    jw.accounts.record(user, via, "work.create", work.id, {"title": work.title, "owner": who})
    return work


def remove_work(jw: Jianwang, user: User, via: str, work_id: str) -> Work:
    visible_work(jw, user, work_id)
    with jw.writer():
        work = jw.registry.remove_work(work_id)
    jw.accounts.record(user, via, "work.remove", work.id, {"title": work.title})
    return work


def overview_for(jw: Jianwang, user: User) -> dict[str, Any]:
    works_visible = user.role != Role.OPERATOR
    return overview(
        jw.sessions,
        owner=policy.works_owner_scope(user) if works_visible else None,
        site=policy.sites_scope(user),
        works_visible=works_visible,
        everything=user.is_regulator,
    )


# ---------------------------------------------------------------- me and overview


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(user: Me) -> dict[str, Any]:
    return user_out(user)


@router.get("/overview", response_model=Overview, response_model_exclude_none=True)
def get_overview(jw: Jw, user: Me) -> dict[str, Any]:
    """Counts of works, rights holders, key websites (and, for the regulator, users and audit
    entries) that this user may see."""
    return overview_for(jw, user)


# ---------------------------------------------------------------- works and assets


@router.get("/works", response_model=WorkList, summary="List works")
def list_works(
    jw: Jw,
    user: Me,
    type: WorkType | None = None,
    owner: Annotated[str | None, Query(max_length=300)] = None,
    status: Literal["active", "removed", "all"] = "active",
    q: Annotated[str | None, Query(max_length=200, description="title contains")] = None,
    sort: Literal[
        "id",
        "-id",
        "title",
        "-title",
        "type",
        "-type",
        "created",
        "-created",
        "release_date",
        "-release_date",
    ] = "id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    scope = policy.works_owner_scope(user)
    if scope is not None:
        if owner is not None and owner != scope:
            return {"total": 0, "limit": limit, "offset": offset, "items": []}
        owner = scope
    works, total = jw.registry.list_works(
        type.value if type else None, owner, status, q, limit, offset, sort
    )
    return {"total": total, "limit": limit, "offset": offset, "items": [work_out(w) for w in works]}


@router.post("/works", response_model=WorkOut, status_code=201, summary="Register a work")
def create_work(
    jw: Jw,
    user: Me,
    files: Annotated[list[UploadFile], File(description="reference files of the work")],
    type: Annotated[WorkType, Form()],
    title: Annotated[str, Form(min_length=1, max_length=500)],
    owner: Annotated[
        str | None, Form(max_length=300, description="rights holder; holders: themselves")
    ] = None,
    isbn: Annotated[str | None, Form(max_length=40)] = None,
    release_date: Annotated[date | None, Form()] = None,
) -> dict[str, Any]:
    limit = jw.settings.max_input_bytes
    uploads = [(f.filename or f"file{i}", read_upload(f, limit)) for i, f in enumerate(files)]
    ids = {"isbn": isbn} if isbn else {}
    work = register_work(jw, user, "api", uploads, type.value, title, owner, ids, release_date)
    return work_out(work)


@router.get("/works/{work_id}", response_model=WorkOut, summary="One work")
def get_work(jw: Jw, user: Me, work_id: WorkId) -> dict[str, Any]:
    return work_out(visible_work(jw, user, work_id))


@router.post("/works/{work_id}/withdraw", response_model=WorkOut, summary="Withdraw a work")
def withdraw_work(jw: Jw, user: Me, work_id: WorkId) -> dict[str, Any]:
    """The record stays (status removed); identification never returns the work again."""
    return work_out(remove_work(jw, user, "api", work_id))


class AssetList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AssetOut]


@router.get("/works/{work_id}/assets", response_model=AssetList, summary="A work's files")
def list_assets(
    jw: Jw,
    user: Me,
    work_id: WorkId,
    media: Literal["text", "audio", "video", "image", "file"] | None = None,
    sort: Literal["id", "-id", "filename", "-filename", "size", "-size"] = "id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The reference files in registration order (`id`), by name or by size (bytes)."""
    assets = work_out(visible_work(jw, user, work_id))["assets"]
    if media:
        assets = [a for a in assets if a["media"] == media]
    key = sort.lstrip("-")
    if key != "id":
        assets = sorted(assets, key=lambda a: a[key])
    if sort.startswith("-"):
        assets = assets[::-1]
    page = assets[offset : offset + limit]
    return {"total": len(assets), "limit": limit, "offset": offset, "items": page}


@router.get(
    "/works/{work_id}/assets/{sha256}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the file"}},
    summary="Download a reference file",
)
def get_asset(
    jw: Jw,
    user: Me,
    work_id: WorkId,
    sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
) -> Response:
    work = visible_work(jw, user, work_id)
    asset = next((a for a in work.assets if a.sha256 == sha256), None)
    if asset is None or not jw.blobs.exists(sha256):
        raise NotFound(f"{work.id} has no file {sha256[:12]}…", sha256=sha256)
    return Response(
        jw.blobs.get(sha256),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{_quote(asset.filename)}"},
    )


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


# ---------------------------------------------------------------- rights holders


@router.get("/holders", response_model=HolderList, summary="List rights holders")
def list_holders(
    jw: Jw,
    user: Me,
    q: Annotated[str | None, Query(max_length=200, description="name contains")] = None,
    sort: Literal["id", "-id", "name", "-name"] = "id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    holders, total = jw.accounts.list_holders(q, policy.holders_scope(user), sort, limit, offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [asdict(h) for h in holders],
    }


@router.post("/holders", response_model=HolderOut, status_code=201, summary="Add a rights holder")
def create_holder(jw: Jw, user: Me, body: HolderIn) -> dict[str, Any]:
    return asdict(jw.accounts.add_holder(body.name, user, "api"))


# ---------------------------------------------------------------- key websites


@router.get("/sites", response_model=SiteList, summary="List key websites")
def list_sites(
    jw: Jw,
    user: Me,
    category: SiteCategory | None = None,
    tier: SupervisionTier | None = None,
    province: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="name contains")] = None,
    sort: Literal[
        "id",
        "-id",
        "name",
        "-name",
        "category",
        "-category",
        "tier",
        "-tier",
        "province",
        "-province",
    ] = "id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    sites, total = jw.sites.list(
        category.value if category else None,
        tier.value if tier else None,
        province,
        q,
        limit,
        offset,
        sort,
        only=policy.sites_scope(user),
    )
    return {"total": total, "limit": limit, "offset": offset, "items": [site_out(s) for s in sites]}


@router.post("/sites", response_model=SiteOut, status_code=201, summary="Register a key website")
def create_site(jw: Jw, user: Me, body: SiteIn) -> dict[str, Any]:
    site = jw.sites.add(
        SiteInput(
            body.name,
            body.domains,
            body.category,
            body.tier,
            body.province,
            body.contact,
            body.notice_channel,
        )
    )
    jw.accounts.record(user, "api", "site.create", site.id, {"name": site.name})
    return site_out(site)


@router.get("/sites/{site_id}", response_model=SiteOut, summary="One key website")
def get_site(jw: Jw, user: Me, site_id: SiteId) -> dict[str, Any]:
    return site_out(policy.check_site(user, jw.sites.get(site_id)))


# ---------------------------------------------------------------- identify


@router.post(
    "/identify",
    response_model=IdentificationOut,
    response_model_exclude_none=True,
    summary="Is this a copy of a registered work?",
)
def identify(
    jw: Jw,
    user: Me,
    file: Annotated[
        UploadFile | None, File(description="a page, text, recording, video or image")
    ] = None,
    text: Annotated[str | None, Form(max_length=2_000_000, description="or pasted text")] = None,
) -> dict[str, Any]:
    """Exactly one of `file` or `text`. Rights holders see matches with their own works only;
    positions are characters (text) or seconds (audio, video), as in `identify --json`."""
    if (file is None) == (text is None):
        raise InvalidInput("send exactly one of file or text", field="file")
    if file is not None:
        data, name = read_upload(file, jw.settings.max_input_bytes), file.filename or "upload"
    else:
        data, name = (text or "").encode("utf-8"), "text"
    return identify_for(jw, user, data, name).to_json()


# ---------------------------------------------------------------- bulk imports


class ImportReportOut(BaseModel):
    added: list[str]
    skipped: list[str]
    failed: list[dict[str, Any]] = Field(description="[{line, error}] per manifest row")


def _renamed(exc: InvalidInput, path: Any, name: str | None) -> InvalidInput:
    """The error with the server's temporary path replaced by the uploaded file's name."""
    return type(exc)(exc.message.replace(str(path), name or "the uploaded file"), **exc.details)


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    """The rows of an uploaded CSV file, checked before a service reads it again: UTF-8,
    well-formed, no row longer than the header."""
    import csv
    import io

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV file is not UTF-8") from None
    rows = []
    try:
        for i, r in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            if None in r:
                raise InvalidInput(f"CSV line {i} has more fields than the header", line=i)
            rows.append({(k or "").strip().lower(): (v or "").strip() for k, v in r.items()})
    except csv.Error as exc:
        raise InvalidInput(f"not a well-formed CSV file: {exc}") from None
    return rows


@router.post("/imports/works", response_model=ImportReportOut, summary="Register works in bulk")
def import_works(
    jw: Jw,
    user: Me,
    manifest: Annotated[
        UploadFile, File(description="CSV: file,type,title,owner[,release_date,isbn,…]")
    ],
    files: Annotated[list[UploadFile], File(description="the files the manifest names")],
) -> dict[str, Any]:
    """The manifest of `jianwang works import`; its `file` column (several separated by `;`)
    names files sent alongside. Rows already registered are skipped, so a retry resumes.
    A rights holder imports only works in its own name."""
    import tempfile
    from pathlib import Path as FsPath

    limit = jw.settings.max_input_bytes
    raw = read_upload(manifest, limit)
    rows = _csv_rows(raw)
    sent: dict[str, bytes] = {}
    for f in files:
        name = FsPath(f.filename or "").name
        if not name or name in (".", ".."):
            raise InvalidInput("every file needs a plain name", field="files")
        sent[name] = read_upload(f, limit)
    for i, row in enumerate(rows, start=2):
        for n in (row.get("file") or row.get("files") or "").split(";"):
            if n.strip() and n.strip() not in sent:
                raise InvalidInput(
                    f"manifest line {i} names {n.strip()!r}, which was not sent", line=i
                )
        policy.registering_owner(user, row.get("owner") or None)
    with tempfile.TemporaryDirectory(prefix="jianwang-import-") as tmp:
        base = FsPath(tmp)
        for name, data in sent.items():
            (base / name).write_bytes(data)
        (base / "manifest.csv").write_bytes(raw)
        try:
            with jw.writer():
                report = jw.registry.import_manifest(base / "manifest.csv")
        except InvalidInput as exc:
            raise _renamed(exc, base / "manifest.csv", manifest.filename) from None
    jw.accounts.record(
        user, "api", "work.import", "", {"added": report.added, "failed": len(report.failed)}
    )
    return report.to_json()


@router.post("/imports/sites", response_model=ImportReportOut, summary="Register sites in bulk")
def import_sites(
    jw: Jw,
    user: Me,
    csv_file: Annotated[
        UploadFile,
        File(description="CSV: name,domains,category,tier[,province,contact,notice_channel]"),
    ],
) -> dict[str, Any]:
    """Sites already registered (by name) are skipped."""
    import tempfile
    from pathlib import Path as FsPath

    raw = read_upload(csv_file, jw.settings.max_input_bytes)
    _csv_rows(raw)
    with tempfile.TemporaryDirectory(prefix="jianwang-import-") as tmp:
        path = FsPath(tmp) / "sites.csv"
        path.write_bytes(raw)
        try:
            report = jw.sites.import_csv(path)
        except InvalidInput as exc:
            raise _renamed(exc, path, csv_file.filename) from None
    jw.accounts.record(
        user, "api", "site.import", "", {"added": report.added, "failed": len(report.failed)}
    )
    return report.to_json()


@router.get("/config", response_model=list[dict[str, str]], summary="Settings (administrators)")
def get_config(jw: Jw, user: Me) -> list[dict[str, str]]:
    """Every setting with its default and current value, as `jianwang config --json`; the
    secret key is never shown."""
    from ..config import describe

    out = []
    for var, default, doc in describe():
        value = str(getattr(jw.settings, var[len("JIANWANG_") :].lower()))
        if var == "JIANWANG_SECRET_KEY":
            value = "(set)" if value else ""
        out.append({"variable": var, "default": default, "value": value, "meaning": doc})
    return out


# ---------------------------------------------------------------- users and tokens


@router.get("/users", response_model=UserList, summary="List users (administrators)")
def list_users(
    jw: Jw,
    user: Me,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100, description="username contains")] = None,
    active: bool | None = None,
    sort: Literal["id", "-id", "username", "-username", "created", "-created"] = "id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    users, total = jw.accounts.list_users(role, q, active, sort, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [user_out(u) for u in users]}


@router.post("/users", response_model=UserOut, status_code=201, summary="Add a user")
def create_user(jw: Jw, user: Me, body: UserIn) -> dict[str, Any]:
    new = jw.accounts.add_user(
        body.username,
        body.password,
        body.role,
        body.holder,
        body.site,
        body.display_name,
        actor=user,
        via="api",
    )
    return user_out(new)


@router.patch("/users/{user_id}", response_model=UserOut, summary="Disable or enable a user")
def patch_user(
    jw: Jw, user: Me, user_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: UserPatch
) -> dict[str, Any]:
    return user_out(jw.accounts.set_active(user_id, body.active, actor=user, via="api"))


@router.get("/tokens", response_model=TokenList, summary="List API tokens")
def list_tokens(
    jw: Jw,
    user: Me,
    all_users: Annotated[bool, Query(description="administrators: every user's")] = False,
    include_revoked: bool = False,
    sort: Literal["id", "-id", "name", "-name", "created", "-created"] = "id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    owner = None if (all_users and user.role == Role.ADMIN) else user.id
    tokens, total = jw.accounts.list_tokens(owner, include_revoked, limit, offset, sort)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [token_out(t) for t in tokens],
    }


@router.post("/tokens", response_model=TokenCreated, status_code=201, summary="Create an API token")
def create_token(jw: Jw, user: Me, body: TokenIn) -> dict[str, Any]:
    token, secret = jw.accounts.create_token(user.id, body.name, actor=user, via="api")
    return {**token_out(token), "token": secret}


@router.delete("/tokens/{token_id}", response_model=TokenOut, summary="Revoke an API token")
def revoke_token(
    jw: Jw, user: Me, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> dict[str, Any]:
    token = jw.accounts.get_token(token_id)
    if not policy.may_manage_token(user, token.user_id):
        raise NotFound(f"no active token {token_id}", token_id=token_id)
    return token_out(jw.accounts.revoke_token(token_id, actor=user, via="api"))


# ---------------------------------------------------------------- audit and index


@router.get("/audit", response_model=AuditList, summary="Who changed what, and when")
def list_audit(
    jw: Jw,
    user: Me,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=50)] = None,
    target: Annotated[str | None, Query(max_length=100)] = None,
    sort: Literal["id", "-id", "at", "-at", "action", "-action"] = "-id",
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    entries, total = jw.accounts.audit_log(actor, action, target, sort, limit, offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [audit_out(e) for e in entries],
    }


@router.get("/index/stats", response_model=dict[str, dict[str, Any]], summary="Index statistics")
def index_stats(jw: Jw, user: Me) -> dict[str, dict[str, Any]]:
    from ..fingerprint.base import methods

    return {f"{m.name}-v{m.version}": jw.indexes.for_method(m).stats() for m in methods().values()}


@router.post("/index/compact", response_model=dict[str, str], summary="Compact the indexes")
def index_compact(jw: Jw, user: Me) -> dict[str, str]:
    from ..fingerprint.base import methods

    with jw.writer():
        for m in methods().values():
            index = jw.indexes.for_method(m)
            with index.writing():
                index.compact()
    jw.accounts.record(user, "api", "index.compact", "", {})
    return {"status": "compacted"}


@router.post("/index/rebuild", response_model=dict[str, int], summary="Rebuild the indexes")
def index_rebuild(jw: Jw, user: Me) -> dict[str, int]:
    with jw.writer():
        n = jw.registry.rebuild_index()
    jw.accounts.record(user, "api", "index.rebuild", "", {"documents": n})
    return {"documents": n}


# ---------------------------------------------------------------- monitoring: plans and runs

RunId = Annotated[
    str,
    Path(pattern="^[Rr]?0{0,12}[1-9][0-9]{0,8}$", description="like R000042", examples=["R000001"]),
]
HitId = Annotated[
    str,
    Path(
        pattern="^(?:[Hh][Ii][Tt])?0{0,12}[1-9][0-9]{0,8}$",
        description="like HIT000042",
        examples=["HIT000001"],
    ),
]
CaptureId = Annotated[
    str,
    Path(pattern="^[Cc]?0{0,12}[1-9][0-9]{0,8}$", description="like C000042", examples=["C000001"]),
]
SiteFilter = Annotated[
    str | None,
    Query(pattern="^[Ss]?0{0,12}[1-9][0-9]{0,8}$", description="a key website, like S000001"),
]
UrlText = Annotated[str, Field(min_length=1, max_length=2000)]
Pattern = Annotated[str, Field(min_length=1, max_length=500)]


class PlanOut(BaseModel):
    site_id: str
    site_name: str
    seeds: list[str]
    sitemaps: list[str]
    search_templates: list[str] = Field(description="URLs with {title}: searched per work title")
    include: list[str] = Field(description="regular expressions a page URL must match (any)")
    exclude: list[str] = Field(description="regular expressions no URL may match")
    max_depth: int
    max_pages: int
    recrawl_minutes: int
    crawl_delay: float = Field(description="seconds between requests to one host")
    concurrency: int = Field(description="requests at once per host")
    user_agent: str
    obey_robots: bool
    enabled: bool
    last_run_at: datetime | None
    next_due_at: datetime | None


class PlanList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PlanOut]


class PlanIn(BaseModel):
    """Fields given replace the plan's; fields left out keep their value (their default
    when the plan is new). A plan needs at least one seed, sitemap or search template."""

    model_config = ConfigDict(extra="forbid")

    seeds: list[UrlText] | None = Field(default=None, max_length=1000)
    sitemaps: list[UrlText] | None = Field(default=None, max_length=100)
    search_templates: list[UrlText] | None = Field(default=None, max_length=100)
    include: list[Pattern] | None = Field(default=None, max_length=100)
    exclude: list[Pattern] | None = Field(default=None, max_length=100)
    max_depth: int | None = Field(default=None, ge=0, le=50)
    max_pages: int | None = Field(default=None, ge=1, le=10_000_000)
    recrawl_minutes: int | None = Field(default=None, ge=1, le=525_600)
    crawl_delay: float | None = Field(default=None, ge=0, le=120)
    concurrency: int | None = Field(default=None, ge=1, le=16)
    user_agent: str | None = Field(default=None, max_length=300)
    obey_robots: StrictBool | None = None
    enabled: StrictBool | None = None


class RunOut(BaseModel):
    id: str
    site_id: str
    site_name: str
    state: Literal["running", "interrupted", "finished", "failed"]
    trigger: str
    max_pages: int
    started_at: datetime
    finished_at: datetime | None
    pages: int = Field(description="URLs fetched (errors included)")
    fetched_bytes: int
    hits: int
    leads: int
    errors: int
    skipped: int
    resumed: int = Field(description="times the run was resumed after an interruption")
    queued: int = Field(description="URLs still in the frontier")
    summary: dict[str, Any] = Field(
        description="counts per outcome (fetched.page, error.http_5xx, skipped.robots, …), "
        "up to 5 example URLs each, and the closing message"
    )


class RunList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[RunOut]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_pages: int | None = Field(
        default=None, ge=1, le=10_000_000, description="page budget of this run (the plan's)"
    )


class FrontierUrl(BaseModel):
    url: str
    kind: str = Field(description="page, sitemap, media, hls or download")
    depth: int
    state: Literal["queued", "done", "failed", "skipped"]
    status: int | None = Field(description="HTTP status, when a response came")
    error: str | None
    size: int
    found_on: str | None


class FrontierList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[FrontierUrl]


def plan_out(p: Any) -> dict[str, Any]:
    return _plain(asdict(p))


def run_out(r: Any) -> dict[str, Any]:
    return _plain(asdict(r))


@router.get("/plans", response_model=PlanList, summary="List crawl plans")
def list_plans(
    jw: Jw,
    user: Me,
    enabled: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Every key website's crawl plan, by site id; `enabled=false` lists deleted (disabled)
    ones."""
    plans = [p for p in jw.monitor.list_plans() if enabled is None or p.enabled == enabled]
    page = plans[offset : offset + limit]
    return {
        "total": len(plans),
        "limit": limit,
        "offset": offset,
        "items": [plan_out(p) for p in page],
    }


@router.get("/sites/{site_id}/plan", response_model=PlanOut, summary="A key website's crawl plan")
def get_plan(jw: Jw, user: Me, site_id: SiteId) -> dict[str, Any]:
    return plan_out(jw.monitor.get_plan(site_id))


@router.put(
    "/sites/{site_id}/plan",
    response_model=PlanOut,
    responses={201: {"model": PlanOut, "description": "plan created"}},
    summary="Create or change a crawl plan",
)
def put_plan(jw: Jw, user: Me, site_id: SiteId, body: PlanIn, response: Response) -> dict[str, Any]:
    """Creates the plan (201) or changes the fields given (200)."""
    site = jw.sites.get(site_id)
    try:
        jw.monitor.get_plan(site.id)
        created = False
    except NotFound:
        created = True
    changes = body.model_dump(exclude_none=True)
    plan = jw.monitor.set_plan(site.id, **changes)
    action = "plan.create" if created else "plan.update"
    jw.accounts.record(user, "api", action, site.id, {"fields": sorted(changes)})
    response.status_code = 201 if created else 200
    return plan_out(plan)


@router.delete("/sites/{site_id}/plan", response_model=PlanOut, summary="Disable a crawl plan")
def delete_plan(jw: Jw, user: Me, site_id: SiteId) -> dict[str, Any]:
    """The plan stays (its runs point at it) but is disabled: never due again."""
    jw.monitor.delete_plan(site_id)
    plan = jw.monitor.get_plan(site_id)
    jw.accounts.record(user, "api", "plan.disable", plan.site_id, {})
    return plan_out(plan)


@router.post(
    "/sites/{site_id}/runs",
    response_model=RunOut,
    status_code=202,
    summary="Start a crawl of a key website",
)
def start_run(
    request: Request, jw: Jw, user: Me, site_id: SiteId, body: RunIn | None = None
) -> dict[str, Any]:
    """Starts (or resumes, when the last run was interrupted) a crawl under the site's plan in
    the background and answers at once with the run; follow it with `GET /runs/{run_id}`.
    409 when a run of the site is already in progress."""
    max_pages = body.max_pages if body is not None else None
    run = monitoring.start_run(jw, request.app.state, user, "api", site_id, max_pages)
    return run_out(run)


@router.post("/runs/{run_id}/stop", response_model=RunOut, summary="Stop a crawl run")
def stop_run(request: Request, jw: Jw, user: Me, run_id: RunId) -> dict[str, Any]:
    """Stops a run this server started: URLs in flight finish and are recorded, and the run
    ends as `interrupted` (starting the site again resumes it). 409 when it is not running
    in this server."""
    return run_out(monitoring.stop_run(jw, request.app.state, user, "api", run_id))


@router.get("/runs", response_model=RunList, summary="List crawl runs")
def list_runs(
    jw: Jw, user: Me, site: SiteFilter = None, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Newest first."""
    runs = jw.monitor.runs(site, limit=offset + limit)[offset:] if offset < 100_000 else []
    total = jw.monitor.count_runs(site)
    return {"total": total, "limit": limit, "offset": offset, "items": [run_out(r) for r in runs]}


@router.get("/runs/{run_id}", response_model=RunOut, summary="One crawl run")
def get_run(jw: Jw, user: Me, run_id: RunId) -> dict[str, Any]:
    """Its counters (live while it runs) and summary."""
    return run_out(jw.monitor.get_run(run_id))


@router.get("/runs/{run_id}/urls", response_model=FrontierList, summary="A run's URLs")
def list_run_urls(
    jw: Jw,
    user: Me,
    run_id: RunId,
    state: Literal["queued", "done", "failed", "skipped"] | None = None,
    limit: Limit = 200,
    offset: Annotated[int, Query(ge=0, le=100_000, description="items skipped")] = 0,
) -> dict[str, Any]:
    """The run's frontier in the order URLs were found: `state=failed` for errors (with the
    HTTP status and the error), `state=skipped` for robots.txt refusals. URLs skipped before
    they were queued (off the site, excluded, too deep) are counted in the run's summary."""
    run = jw.monitor.get_run(run_id)
    items = jw.monitor.run_urls(run.id, state, limit=offset + limit)[offset:]
    total = jw.monitor.count_run_urls(run.id, state)
    return {"total": total, "limit": limit, "offset": offset, "items": items}


# ---------------------------------------------------------------- monitoring: hits


class HitEventOut(BaseModel):
    at: datetime
    actor: str = Field(description="monitor, or the reviewer's username")
    action: str = Field(
        description="found, reupload, seen, removed, reappeared, confirmed, rejected, reopened"
    )
    reason: str | None
    capture_id: str | None


class HitOut(BaseModel):
    id: str
    site_id: str | None
    site_name: str | None
    work_id: str
    title: str
    owner: str
    url: str
    found_on: str | None
    media: str
    member: str | None = Field(description="path inside an archive, when the copy was in one")
    score: float
    verdict: str
    method: str
    segments: list[SegmentOut]
    state: Literal["new", "confirmed", "rejected"]
    reviewer: str | None
    reason: str | None
    reupload: bool = Field(description="a confirmed work back on the site after removal")
    removed_at: datetime | None
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
    capture_id: str = Field(description="the capture it was found in")
    last_capture_id: str


class HitDetail(HitOut):
    events: list[HitEventOut]


class HitList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[HitOut]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000, description="needed to reject")


def hit_out(h: Any, events: bool = False) -> dict[str, Any]:
    d = _plain(asdict(h))
    if not events:
        d.pop("events", None)
    return d


@router.get("/hits", response_model=HitList, summary="List monitoring hits")
def list_hits(
    jw: Jw,
    user: Me,
    state: Literal["new", "confirmed", "rejected"] | None = None,
    site: SiteFilter = None,
    work: Annotated[
        str | None, Query(pattern="^[Ww]?0{0,12}[1-9][0-9]{0,8}$", description="like W000001")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Newest first. A rights holder sees the hits of its own works, a site operator those
    found on its own site; the regulator sees all."""
    hits, total = monitoring.visible_hits(jw, user, state, site, work, limit, offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [hit_out(h) for h in hits]}


@router.get("/hits/{hit_id}", response_model=HitDetail, summary="One hit, with its events")
def get_hit(jw: Jw, user: Me, hit_id: HitId) -> dict[str, Any]:
    return hit_out(monitoring.visible_hit(jw, user, hit_id), events=True)


def _review_route(action: str, doc: str) -> None:
    def route(jw: Jw, user: Me, hit_id: HitId, body: ReviewIn | None = None) -> dict[str, Any]:
        reason = body.reason if body is not None else None
        hit = monitoring.review(jw, user, "api", hit_id, action, reason)
        return hit_out(hit, events=True)

    route.__name__ = f"{action}_hit"
    route.__doc__ = doc
    router.post(
        f"/hits/{{hit_id}}/{action}",
        response_model=HitDetail,
        summary=f"{action.capitalize()} a hit",
    )(route)


_review_route("confirm", "A new hit is a copy (409 when it was already reviewed: reopen it first).")
_review_route("reject", "A new hit is not a copy; `reason` is required.")
_review_route("reopen", "Back to new, to review it again.")


# ---------------------------------------------------------------- monitoring: captures, leads


class RedirectOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: str
    status: int
    location: str | None = None
    ip: str | None = None


class CaptureOut(BaseModel):
    id: str
    site_id: str | None
    run_id: str | None
    url: str = Field(description="the URL requested")
    final_url: str = Field(description="after redirects")
    found_on: str | None
    redirects: list[RedirectOut]
    fetched_at: datetime = Field(description="UTC")
    ip: str = Field(description="the address the response came from")
    status: int
    headers: list[list[str]] = Field(description="[name, value] as received")
    content_type: str
    media: str
    body_sha256: str
    body_size: int
    truncated: bool
    screenshot_sha256: str | None
    verified: bool = Field(description="the stored body still has its recorded SHA-256")
    hits: list[str] = Field(description="hits of this capture that this user may see")


class LeadOut(BaseModel):
    id: int
    site_id: str
    provider: str
    url: str
    code: str | None = Field(description="the extraction code given beside the link")
    page_url: str
    context: str
    capture_id: str
    first_seen_at: datetime


class LeadList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[LeadOut]


def capture_out(c: Any, verified: bool, hits: list[str]) -> dict[str, Any]:
    d = _plain(asdict(c))
    d["headers"] = [list(h) for h in c.headers]
    return {**d, "verified": verified, "hits": hits}


#: a capture's body is whatever the site sent: never rendered by the browser
HOSTILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


def capture_body(jw: Jianwang, user: User, capture_id: str) -> Response:
    from fastapi.responses import FileResponse

    cap, _ = monitoring.visible_capture(jw, user, capture_id)
    if not jw.blobs.exists(cap.body_sha256):
        raise NotFound(f"the body of {cap.id} is not in the blob store", capture_id=cap.id)
    return FileResponse(
        jw.blobs.path(cap.body_sha256),
        media_type="application/octet-stream",
        headers={
            **HOSTILE_HEADERS,
            "Content-Disposition": f'attachment; filename="{cap.id}.bin"',
            "X-Content-SHA256": cap.body_sha256,
        },
    )


def capture_screenshot(jw: Jianwang, user: User, capture_id: str) -> Response:
    from fastapi.responses import FileResponse

    cap, _ = monitoring.visible_capture(jw, user, capture_id)
    sha = cap.screenshot_sha256
    if not sha or not jw.blobs.exists(sha):
        raise NotFound(f"{cap.id} has no screenshot", capture_id=cap.id)
    return FileResponse(
        jw.blobs.path(sha),
        media_type="image/png",
        headers={**HOSTILE_HEADERS, "X-Content-SHA256": sha},
    )


@router.get("/captures/{capture_id}", response_model=CaptureOut, summary="One evidence capture")
def get_capture(jw: Jw, user: Me, capture_id: CaptureId) -> dict[str, Any]:
    """Everything recorded of the response, and whether its stored body still has the
    recorded SHA-256. Visible to the regulator, and to whoever may see one of its hits."""
    cap, hits = monitoring.visible_capture(jw, user, capture_id)
    return capture_out(cap, jw.monitor.verify_capture(cap.id), hits)


@router.get(
    "/captures/{capture_id}/body",
    response_class=Response,
    responses={
        200: {
            "content": {"application/octet-stream": {}},
            "description": "the body exactly as received (an attachment, never rendered)",
            "headers": {"X-Content-SHA256": {"description": "the recorded SHA-256 of the body"}},
        }
    },
    summary="Download a capture's body",
)
def get_capture_body(jw: Jw, user: Me, capture_id: CaptureId) -> Response:
    return capture_body(jw, user, capture_id)


@router.get(
    "/captures/{capture_id}/screenshot",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the page as Chromium drew it"}},
    summary="A capture's screenshot",
)
def get_capture_screenshot(jw: Jw, user: Me, capture_id: CaptureId) -> Response:
    """404 when none was taken (no browser, or not a page)."""
    return capture_screenshot(jw, user, capture_id)


@router.get("/leads", response_model=LeadList, summary="Network-disk leads")
def list_leads(
    jw: Jw, user: Me, site: SiteFilter = None, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    """Share links (with their extraction codes) seen on key websites, newest first."""
    leads = jw.monitor.leads(site, limit=offset + limit)[offset:] if offset < 100_000 else []
    total = jw.monitor.count_leads(site)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [_plain(asdict(x)) for x in leads],
    }
