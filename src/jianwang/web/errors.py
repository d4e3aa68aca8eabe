"""One error shape for the whole API: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain import (
    Conflict,
    Duplicate,
    Forbidden,
    InvalidInput,
    JianwangError,
    NotFound,
    Throttled,
    TooLarge,
    Unauthenticated,
    UnsupportedMedia,
)

log = logging.getLogger("jianwang.web")


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. not_found, forbidden")
    message: str = Field(description="one human-readable sentence")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


def _doc(text: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": text}


#: documented on every API route (the shape is the same whatever the status)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("malformed request"),
    401: _doc("no valid bearer token"),
    403: _doc("the user's role may not do this"),
    404: _doc("no such object, or not one this user may see"),
    405: _doc("method not allowed"),
    409: _doc("already exists"),
    413: _doc("input too large"),
    415: _doc("unsupported media"),
    422: _doc("invalid input"),
    429: _doc("too many attempts"),
}


def status_of(exc: JianwangError) -> int:
    for cls, status in (
        (Unauthenticated, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (Duplicate, 409),
        (Conflict, 409),
        (TooLarge, 413),
        (UnsupportedMedia, 415),
        (Throttled, 429),
        (InvalidInput, 422),
    ):
        if isinstance(exc, cls):
            return status
    return 400


def error_json(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = {"error": {"code": code, "message": message, "details": jsonable_encoder(details or {})}}
    return JSONResponse(body, status_code=status, headers=headers)


class LoginRequired(Exception):
    """A dashboard page was asked for without a session: redirect to the sign-in page."""


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _methods_of(app: FastAPI, path: str) -> list[str]:
    from starlette.routing import compile_path

    from . import route_keys

    cache: dict[str, Any] = app.state.__dict__.setdefault("_route_patterns", {})
    if not cache:
        for key in route_keys(app):
            method, template = key.split(" ", 1)
            cache.setdefault(template, (compile_path(template)[0], set()))[1].add(method)
    methods: set[str] = set()
    literal: set[str] = set()
    for template, (regex, ms) in cache.items():
        if regex.match(path):
            methods |= ms
            if "{" not in template:
                literal |= ms
    # a literal path is that route, not a templated one with a value no pattern allows
    return sorted(literal or methods)


def install(app: FastAPI, html_error: Any) -> None:
    """Exception handlers: JSON for /api/…, an HTML page (`html_error(request, status, code,
    message)`) for the dashboard."""

    def respond(
        request: Request,
        status: int,
        code: str,
        message: str,
        details: Any,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if _is_api(request):
            return error_json(status, code, message, details, headers)
        response: Response = html_error(request, status, code, message)
        for k, v in (headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(JianwangError)
    async def _domain(request: Request, exc: JianwangError) -> Response:
        headers = None
        if isinstance(exc, Throttled) and "retry_after" in exc.details:
            headers = {"Retry-After": str(exc.details["retry_after"])}
        return respond(request, status_of(exc), exc.code, exc.message, exc.details, headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {
                "loc": [str(x) for x in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] or first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return respond(request, 422, "validation_error", message, {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        code = codes.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # every method of the path, not just those of the first route that matched it
            headers["Allow"] = ", ".join(_methods_of(app, request.url.path))
        return respond(request, exc.status_code, code, str(exc.detail), {}, headers)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return respond(request, 500, "internal_error", "internal error (logged on the server)", {})
