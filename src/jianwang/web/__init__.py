"""The platform service: the REST API (`/api/v1`) and the dashboard, one FastAPI app over
one `Jianwang` facade. `create_app` builds it; `jianwang serve` runs it on uvicorn."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ..app import Jianwang
from . import api, dashboard, errors

API_TITLE = "Jianwang API"
API_VERSION = "1"


def secret_key(jw: Jianwang) -> str:
    """The configured key, or one kept in `<home>/secret.key` (made on first use, mode 600)."""
    if jw.settings.secret_key:
        return jw.settings.secret_key
    path = Path(jw.settings.home) / "secret.key"
    if not path.exists():
        tmp = path.with_name(f"secret.key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # never replaces a key another process just made
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def create_app(jw: Jianwang) -> FastAPI:
    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=(
            "Register protected works and key websites, identify copies. Every route needs "
            "`Authorization: Bearer <token>` (`jianwang tokens create USER`). Errors have one "
            'shape: `{"error": {"code", "message", "details"}}`.'
        ),
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; /api/v1/docs is ours, offline
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.jw = jw
    app.state.sessions = dashboard.SessionCodec(secret_key(jw), jw.settings.session_hours * 3600)
    errors.install(app, dashboard.html_error)
    app.middleware("http")(dashboard.session_middleware)

    @app.middleware("http")
    async def _headers(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def _stop_runs() -> None:  # crawls end as interrupted: the next run resumes them
        runner = getattr(app.state, "runner", None)
        if runner is not None:
            runner.stop_all()

    app.router.on_shutdown.append(_stop_runs)
    app.include_router(api.router)
    app.include_router(dashboard.router)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).with_name("static"))), name="static"
    )
    return app


def route_keys(app: FastAPI) -> set[str]:
    """ "METHOD path" of every route the app serves (HEAD and OPTIONS aside; a mount is
    "GET path"), looking inside included routers."""
    from starlette.routing import Mount

    out: set[str] = set()

    def walk(routes: list[object]) -> None:
        for r in routes:
            included = getattr(r, "original_router", None)
            if included is not None:
                walk(list(included.routes))
            elif isinstance(r, Mount):
                out.add(f"GET {r.path}")
            else:
                for m in sorted(getattr(r, "methods", None) or ()):
                    if m not in ("HEAD", "OPTIONS"):
                        out.add(f"{m} {getattr(r, 'path', '')}")

    walk(list(app.routes))
    return out
