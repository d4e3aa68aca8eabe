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
from pydantic import BaseModel, Field, StrictBool

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
from . import policy
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
