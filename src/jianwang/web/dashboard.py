"""Server-rendered dashboard (Jinja2 + htmx): sign-in, overview, works, key websites,
identify, monitoring (plans and runs, hits with the capture viewer). Thin over the same helpers as the API; every page passes `policy.check_route`.

Sessions live in a signed cookie (itsdangerous: user id, CSRF token, language), HttpOnly,
SameSite=Lax, Secure when the request came over HTTPS. Every POST carries the session's CSRF
token (a form field, or the `X-CSRF-Token` header that htmx sends).
"""

from __future__ import annotations

import hmac
import math
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import media
from ..domain import (
    Capture,
    Conflict,
    Forbidden,
    Hit,
    Identification,
    InvalidInput,
    JianwangError,
    MediaType,
    Role,
    Throttled,
    Unauthenticated,
    User,
    WorkType,
)
from ..services.passages import pieces, reference_text
from . import api, i18n, monitoring, policy
from .errors import LoginRequired

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
COOKIE = "jianwang_session"

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- sessions


class SessionCodec:
    def __init__(self, secret: str, max_age: int):
        self.serializer = URLSafeTimedSerializer(secret, salt="jianwang-session")
        self.max_age = max_age

    def load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def dump(self, data: dict[str, Any]) -> str:
        return str(self.serializer.dumps(data))


async def session_middleware(request: Request, call_next: Any) -> Response:
    """Load the session cookie into `request.state.session`; write it back when changed."""
    codec: SessionCodec = request.app.state.sessions
    session = codec.load(request.cookies.get(COOKIE))
    before = dict(session)
    request.state.session = session
    response: Response = await call_next(request)
    if session != before:
        if session:
            response.set_cookie(
                COOKIE,
                codec.dump(session),
                max_age=codec.max_age,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        else:
            response.delete_cookie(COOKIE, path="/")
    return response


def _session(request: Request) -> dict[str, Any]:
    return request.state.session


def csrf_token(request: Request) -> str:
    session = _session(request)
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


async def check_csrf(request: Request) -> None:
    expected = _session(request).get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("the form has expired or did not come from this site; reload the page")


def lang_of(request: Request) -> str:
    lang = _session(request).get("lang")
    if lang in i18n.LANGUAGES:
        return str(lang)
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else i18n.DEFAULT


def current_user(request: Request) -> User | None:
    uid = _session(request).get("uid")
    if not isinstance(uid, int):
        return None
    try:
        user = api.platform(request).accounts.get_user(uid)
    except JianwangError:
        return None
    return user if user.active else None


def page_user(request: Request) -> User:
    """The signed-in user of a dashboard page (else a redirect to sign in), after the
    route's rule and, for POST, the CSRF check."""
    user = current_user(request)
    if user is None:
        raise LoginRequired()
    route = request.scope.get("route")
    policy.check_route(user, request.method, getattr(route, "path", request.url.path))
    return user


PageUser = Annotated[User, Depends(page_user)]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    user = context.pop("user", None) or current_user(request)
    ctx = {
        "t": i18n.translator(lang),
        "lang": lang,
        "user": user,
        "csrf": csrf_token(request),
        "path": request.url.path,
        "query": request.url.query,
        "Role": Role,
        **context,
    }
    return TEMPLATES.TemplateResponse(request, name, ctx, status_code=status_code)


def html_error(request: Request, status: int, code: str, message: str) -> Response:
    if status == 401:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render(
        request, "error.html", status_code=status, status=status, code=code, message=message
    )


# ---------------------------------------------------------------- sign-in and language


def _safe_next(target: str | None) -> str:
    # only paths of this site: "//host" and "/\\host" are other sites to a browser
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    if current_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), failed=None)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    await check_csrf(request)
    jw = api.platform(request)
    try:
        from starlette.concurrency import run_in_threadpool

        user = await run_in_threadpool(jw.accounts.authenticate, username, password)
    except Throttled:
        return render(request, "login.html", status_code=429, next=next, failed="login.throttled")
    except Unauthenticated:
        return render(request, "login.html", status_code=401, next=next, failed="login.failed")
    session = _session(request)
    lang = session.get("lang")
    session.clear()  # a new session (and CSRF token) at each sign-in
    session.update({"uid": user.id, "csrf": secrets.token_urlsafe(24)})
    if lang:
        session["lang"] = lang
    jw.accounts.record(user, "dashboard", "session.signin", user.username, {})
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request, user: PageUser) -> Response:
    await check_csrf(request)
    lang = _session(request).get("lang")
    _session(request).clear()
    if lang:
        _session(request)["lang"] = lang
    api.platform(request).accounts.record(user, "dashboard", "session.signout", user.username, {})
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str | None = None) -> Response:
    if code not in i18n.LANGUAGES:
        raise InvalidInput(f"unknown language {code!r}")
    _session(request)["lang"] = code
    return RedirectResponse(_safe_next(next), status_code=303)


# ---------------------------------------------------------------- API reference


@router.get("/api/v1/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """Every API operation from the live OpenAPI schema, with the roles that may call it
    (served here, offline, instead of a CDN-loaded Swagger UI)."""
    schema = request.app.openapi()
    operations = []
    for path, item in schema["paths"].items():
        for method, op in item.items():
            roles = policy.rule(method.upper(), path)
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "roles": policy.roles_of(roles) if roles else [],
                    "params": [p["name"] for p in op.get("parameters", [])],
                }
            )
    return render(request, "api_docs.html", operations=operations, info=schema["info"])


# ---------------------------------------------------------------- overview


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, user: PageUser) -> Response:
    data = api.overview_for(api.platform(request), user)
    return render(request, "overview.html", user=user, data=data)


# ---------------------------------------------------------------- works


PAGE = 20


@router.get("/works", response_class=HTMLResponse)
def works_page(
    request: Request,
    user: PageUser,
    q: str = "",
    type: str = "",
    status: str = "active",
    page: int = 1,
) -> Response:
    jw = api.platform(request)
    owner = policy.works_owner_scope(user)
    wtype = type if type in {t.value for t in WorkType} else None
    status = status if status in ("active", "removed", "all") else "active"
    page = max(page, 1)
    works, total = jw.registry.list_works(
        wtype, owner, status, q[:200] or None, PAGE, (page - 1) * PAGE, "-id"
    )
    ctx: dict[str, Any] = {
        "user": user,
        "works": works,
        "total": total,
        "q": q,
        "type": wtype or "",
        "status": status,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE)),
        "types": [t.value for t in WorkType],
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "works-table":
        return render(request, "_works_table.html", **ctx)
    return render(request, "works.html", **ctx)


@router.get("/works/new", response_class=HTMLResponse)
def register_page(request: Request, user: PageUser) -> Response:
    return render(request, "register.html", user=user, types=[t.value for t in WorkType])


@router.post("/works/new", response_class=HTMLResponse)
async def register(
    request: Request,
    user: PageUser,
    files: Annotated[list[UploadFile], File()],
    type: Annotated[str, Form(max_length=20)],
    title: Annotated[str, Form(max_length=500)],
    owner: Annotated[str | None, Form(max_length=300)] = None,
    isbn: Annotated[str | None, Form(max_length=40)] = None,
    release_date: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    await check_csrf(request)
    from starlette.concurrency import run_in_threadpool

    jw = api.platform(request)

    def work() -> Any:
        limit = jw.settings.max_input_bytes
        uploads = [(f.filename or "upload", api.read_upload(f, limit)) for f in files if f.filename]
        ids = {"isbn": isbn} if isbn else {}
        return api.register_work(
            jw, user, "dashboard", uploads, type, title, owner, ids, release_date or None
        )

    try:
        registered = await run_in_threadpool(work)
    except (InvalidInput, Forbidden, JianwangError) as exc:
        return render(
            request, "_register_result.html", status_code=200, error=exc.message, work=None
        )
    return render(request, "_register_result.html", work=registered, error=None)


@router.get("/works/{work_id}", response_class=HTMLResponse)
def work_page(request: Request, user: PageUser, work_id: str) -> Response:
    work = api.visible_work(api.platform(request), user, work_id)
    return render(request, "work.html", user=user, work=work)


@router.post("/works/{work_id}/remove")
async def work_remove(request: Request, user: PageUser, work_id: str) -> Response:
    await check_csrf(request)
    from starlette.concurrency import run_in_threadpool

    work = await run_in_threadpool(
        api.remove_work, api.platform(request), user, "dashboard", work_id
    )
    return RedirectResponse(f"/works/{work.id}", status_code=303)


# ---------------------------------------------------------------- key websites


@router.get("/sites", response_class=HTMLResponse)
def sites_page(
    request: Request, user: PageUser, q: str = "", category: str = "", page: int = 1
) -> Response:
    from ..domain import SiteCategory

    jw = api.platform(request)
    cat = category if category in {c.value for c in SiteCategory} else None
    page = max(page, 1)
    sites, total = jw.sites.list(
        cat,
        None,
        None,
        q[:200] or None,
        PAGE,
        (page - 1) * PAGE,
        "id",
        only=policy.sites_scope(user),
    )
    ctx: dict[str, Any] = {
        "user": user,
        "sites": sites,
        "total": total,
        "q": q,
        "category": cat or "",
        "categories": [c.value for c in SiteCategory],
        "page": page,
        "pages": max(1, math.ceil(total / PAGE)),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "sites-table":
        return render(request, "_sites_table.html", **ctx)
    return render(request, "sites.html", **ctx)


@router.get("/sites/{site_id}", response_class=HTMLResponse)
def site_page(request: Request, user: PageUser, site_id: str) -> Response:
    site = policy.check_site(user, api.platform(request).sites.get(site_id))
    return render(request, "site.html", user=user, site=site)


# ---------------------------------------------------------------- identify


@router.get("/identify", response_class=HTMLResponse)
def identify_page(request: Request, user: PageUser) -> Response:
    return render(request, "identify.html", user=user)


@router.post("/identify", response_class=HTMLResponse)
async def identify_post(
    request: Request,
    user: PageUser,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str | None, Form(max_length=2_000_000)] = None,
) -> Response:
    await check_csrf(request)
    from starlette.concurrency import run_in_threadpool

    jw = api.platform(request)

    def work() -> dict[str, Any]:
        if file is not None and file.filename:
            data, name = api.read_upload(file, jw.settings.max_input_bytes), file.filename
        elif text and text.strip():
            data, name = text.encode("utf-8"), "text"
        else:
            raise InvalidInput("choose a file or paste some text")
        ident = api.identify_for(jw, user, data, name)
        return {"ident": ident, "views": _views(jw, ident, data)}

    try:
        result = await run_in_threadpool(work)
    except JianwangError as exc:
        return render(request, "_identify_result.html", error=exc.message, ident=None, views=[])
    return render(request, "_identify_result.html", error=None, **result)


def _views(jw: Any, ident: Identification, data: bytes) -> list[dict[str, Any]]:
    """Per match, what the result page shows: side-by-side pieces for text, time ranges
    for audio and video."""
    query_text: str | None = None
    if ident.media == MediaType.TEXT and ident.matches:
        query_text = str(media.decode(data).signal)
    views = []
    for m in ident.matches:
        view: dict[str, Any] = {"match": m, "pieces": None, "ranges": []}
        if query_text is not None:
            ref = reference_text(jw.sessions, jw.blobs, m.work_id)
            if ref is not None:
                qs = [(int(s.query[0]), int(s.query[1])) for s in m.segments]
                rs = [(int(s.reference[0]), int(s.reference[1])) for s in m.segments]
                view["pieces"] = (pieces(query_text, qs), pieces(ref, rs))
                view["spans"] = list(zip(qs, rs, strict=True))
        else:
            view["ranges"] = [
                (
                    _clock(s.query[0]),
                    _clock(s.query[1]),
                    _clock(s.reference[0]),
                    _clock(s.reference[1]),
                )
                for s in m.segments
            ]
        views.append(view)
    return views


def _clock(seconds: float) -> str:
    m, s = divmod(max(seconds, 0.0), 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:04.1f}" if h else f"{m}:{s:04.1f}"


# ---------------------------------------------------------------- monitoring


@router.get("/monitor", response_class=HTMLResponse)
def monitor_page(request: Request, user: PageUser, page: int = 1) -> Response:
    return _monitor(request, user, None, page)


def _monitor(request: Request, user: User, error: str | None, page: int = 1) -> Response:
    jw = api.platform(request)
    every = jw.monitor.list_plans()
    pages = max(1, math.ceil(len(every) / PAGE))
    page = min(max(page, 1), pages)
    plans = every[(page - 1) * PAGE : page * PAGE]
    latest = {p.site_id: next(iter(jw.monitor.runs(p.site_id, limit=1)), None) for p in plans}
    runs = jw.monitor.runs(limit=20)
    leads = jw.monitor.leads(limit=20)
    return render(
        request,
        "monitor.html",
        status_code=409 if error else 200,
        user=user,
        plans=plans,
        total=len(every),
        page=page,
        pages=pages,
        latest=latest,
        runs=runs,
        leads=leads,
        error=error,
    )


@router.post("/monitor/{site_id}/run")
async def monitor_run(request: Request, user: PageUser, site_id: str) -> Response:
    await check_csrf(request)
    from starlette.concurrency import run_in_threadpool

    jw = api.platform(request)
    try:
        run = await run_in_threadpool(
            monitoring.start_run, jw, request.app.state, user, "dashboard", site_id, None
        )
    except Conflict as exc:
        return await run_in_threadpool(_monitor, request, user, exc.message)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.post("/runs/{run_id}/stop")
async def run_stop(request: Request, user: PageUser, run_id: str) -> Response:
    await check_csrf(request)
    from starlette.concurrency import run_in_threadpool

    jw = api.platform(request)
    try:
        await run_in_threadpool(
            monitoring.stop_run, jw, request.app.state, user, "dashboard", run_id
        )
    except Conflict as exc:
        return await run_in_threadpool(_run_page, request, user, run_id, exc.message)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, user: PageUser, run_id: str) -> Response:
    return _run_page(request, user, run_id, None)


def _run_page(request: Request, user: Any, run_id: str, error: str | None) -> Response:
    jw = api.platform(request)
    run = jw.monitor.get_run(run_id)
    ctx: dict[str, Any] = {"user": user, "run": run, "error": error}
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "run-live":
        return render(request, "_run_live.html", **ctx)
    ctx["failed"] = jw.monitor.run_urls(run.id, "failed", limit=200)
    ctx["skipped"] = jw.monitor.run_urls(run.id, "skipped", limit=200)
    return render(request, "run.html", **ctx)


HIT_STATES = ("new", "confirmed", "rejected")


@router.get("/hits", response_class=HTMLResponse)
def hits_page(
    request: Request, user: PageUser, state: str = "", site: str = "", page: int = 1
) -> Response:
    jw = api.platform(request)
    st = state if state in HIT_STATES else None
    page = max(page, 1)
    sites, _ = jw.sites.list(limit=1000, only=policy.sites_scope(user))
    site_ids = {s.id for s in sites}
    chosen = site if site in site_ids else None
    hits, total = monitoring.visible_hits(jw, user, st, chosen, None, PAGE, (page - 1) * PAGE)
    ctx: dict[str, Any] = {
        "user": user,
        "hits": hits,
        "total": total,
        "state": st or "",
        "site": chosen or "",
        "sites": sites,
        "states": HIT_STATES,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE)),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "hits-table":
        return render(request, "_hits_table.html", **ctx)
    return render(request, "hits.html", **ctx)


@router.get("/hits/{hit_id}", response_class=HTMLResponse)
def hit_page(request: Request, user: PageUser, hit_id: str, capture: str | None = None) -> Response:
    return _hit(request, user, hit_id, capture, None, 200)


def _hit(
    request: Request,
    user: User,
    hit_id: str,
    capture: str | None,
    error: str | None,
    status_code: int,
) -> Response:
    jw = api.platform(request)
    hit = monitoring.visible_hit(jw, user, hit_id)
    captures = list(
        dict.fromkeys(
            [
                hit.capture_id,
                *(e.capture_id for e in hit.events if e.capture_id),
                hit.last_capture_id,
            ]
        )
    )
    shown = capture if capture in captures else hit.capture_id
    cap = jw.monitor.get_capture(shown)
    view = _hit_view(jw, hit, cap)
    return render(
        request,
        "hit.html",
        status_code=status_code,
        user=user,
        hit=hit,
        cap=cap,
        captures=captures,
        verified=jw.monitor.verify_capture(cap.id),
        view=view,
        error=error,
    )


@router.post("/hits/{hit_id}/review", response_class=HTMLResponse)
async def hit_review(
    request: Request,
    user: PageUser,
    hit_id: str,
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await check_csrf(request)
    from starlette.concurrency import run_in_threadpool

    jw = api.platform(request)
    if action not in ("confirm", "reject", "reopen"):
        raise InvalidInput(f"unknown review action {action!r}")
    try:
        hit = await run_in_threadpool(
            monitoring.review, jw, user, "dashboard", hit_id, action, reason or None
        )
    except (Conflict, InvalidInput) as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        return await run_in_threadpool(_hit, request, user, hit_id, None, exc.message, status)
    return RedirectResponse(f"/hits/{hit.id}", status_code=303)


@router.get("/captures/{capture_id}/body")
def capture_body_download(request: Request, user: PageUser, capture_id: str) -> Response:
    return api.capture_body(api.platform(request), user, capture_id)


@router.get("/captures/{capture_id}/screenshot")
def capture_screenshot_image(request: Request, user: PageUser, capture_id: str) -> Response:
    return api.capture_screenshot(api.platform(request), user, capture_id)


def _hit_view(jw: Any, hit: Hit, cap: Capture) -> dict[str, Any]:
    """The capture viewer's match: the capture's text with the matched passages and the
    work's text beside it (text), or the matched time ranges (audio, video)."""
    view: dict[str, Any] = {"pieces": None, "spans": [], "ranges": [], "note": None}
    if hit.media == "text" and hit.member is None and cap.media == "text":
        try:
            data = jw.blobs.get(cap.body_sha256)
            query_text = str(media.decode(data).signal)
        except (OSError, JianwangError):
            view["note"] = "capture.undecodable"
            return view
        qs = [(int(s.query[0]), int(s.query[1])) for s in hit.segments]
        rs = [(int(s.reference[0]), int(s.reference[1])) for s in hit.segments]
        ref = reference_text(jw.sessions, jw.blobs, hit.work_id)
        view["spans"] = list(zip(qs, rs, strict=True))
        view["pieces"] = (pieces(query_text, qs), pieces(ref, rs) if ref is not None else None)
    elif hit.media in ("audio", "video"):
        view["ranges"] = [
            (_clock(s.query[0]), _clock(s.query[1]), _clock(s.reference[0]), _clock(s.reference[1]))
            for s in hit.segments
        ]
    return view
