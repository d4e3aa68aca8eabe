"""The fetcher: httpx with the address guard on every hop, bounded bodies and time, retries.

Redirects are followed by hand so that each hop is checked by the guard and recorded. A
body is bounded after decompression (a gzip bomb stops at the limit, however small it was on
the wire) and by a total deadline (a server dripping bytes cannot hold a worker forever).
Pages are kept in memory (bounded); media go to a file, never whole into memory.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ..domain import JianwangError
from .guard import Guard, Refused, Unresolved

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 64 * 1024


class FetchError(JianwangError):
    """A fetch that produced no usable response. `kind`: refused, unresolved, timeout,
    too_large, redirects, network, scheme."""

    code = "fetch_failed"

    def __init__(self, kind: str, message: str, **details: Any) -> None:
        super().__init__(message, kind=kind, **details)
        self.kind = kind


@dataclass
class Fetched:
    """One response as the monitor saw it (the raw material of an evidence capture)."""

    url: str
    final_url: str
    redirects: list[dict[str, Any]]
    status: int
    headers: list[list[str]]
    ip: str
    fetched_at: datetime
    body: bytes | None = None  # in memory (pages)
    path: Path | None = None  # on disk (media), the caller owns the file
    size: int = 0
    sha256: str = ""
    truncated: bool = False  # stopped at a byte or time budget (media: "the first minutes")
    attempts: int = 1
    elapsed: float = 0.0

    @property
    def content_type(self) -> str:
        return self.header("content-type").split(";")[0].strip().lower()

    def header(self, name: str) -> str:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass
class Fetcher:
    guard: Guard
    user_agent: str
    timeout: float = 20.0  # connect and between bytes
    deadline: float = 60.0  # a whole page
    page_max_bytes: int = 8 * 1024 * 1024
    retries: int = 2
    backoff: float = 1.0
    max_retry_after: float = 60.0
    max_redirects: int = 10
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                transport=self.transport,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                trust_env=False,  # no proxy from the environment: the guard must see the target
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        to_file: Path | None = None,
        max_bytes: int | None = None,
        deadline: float | None = None,
        allow_truncated: bool = False,
    ) -> Fetched:
        """GET `url`. A textual body (HTML, text, XML, JSON, playlists) is returned in memory,
        bounded by the page limit; with `to_file`, any other body is streamed there, bounded
        by `max_bytes`. A body over its limit is an error, or is cut at the limit and marked
        `truncated` when `allow_truncated`."""
        limit = max_bytes if max_bytes is not None else self.page_max_bytes
        budget = deadline if deadline is not None else self.deadline
        extra: dict[str, str] = {}
        if etag:
            extra["If-None-Match"] = etag
        if last_modified:
            extra["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self._follow(url, extra, to_file, limit, budget, allow_truncated)
            except FetchError as exc:
                if exc.kind != "network" or attempt > self.retries:
                    raise
                self.sleep(self.backoff * 2 ** (attempt - 1))
                continue
            result.attempts = attempt
            if result.status not in RETRY_STATUSES or attempt > self.retries:
                return result
            wait = _retry_after(result.header("retry-after"))
            if wait is None:
                wait = self.backoff * 2 ** (attempt - 1)
            if wait > self.max_retry_after:
                return result  # the site asks for longer than we wait: report the status
            if result.path is not None:
                result.path.unlink(missing_ok=True)
            self.sleep(wait)

    def _follow(
        self,
        url: str,
        extra: dict[str, str],
        to_file: Path | None,
        limit: int,
        budget: float,
        allow_truncated: bool,
    ) -> Fetched:
        started = time.monotonic()
        hops: list[dict[str, Any]] = []
        current = url
        for _ in range(self.max_redirects + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https"):
                raise FetchError(
                    "scheme", f"not fetching {parts.scheme or 'a relative'} URL {current}"
                )
            host = parts.hostname or ""
            port = parts.port or (443 if parts.scheme == "https" else 80)
            try:
                ip = self.guard.resolve(host, port)
            except Refused as exc:
                raise FetchError("refused", exc.message, redirects=hops) from None
            except Unresolved as exc:
                raise FetchError("unresolved", exc.message, redirects=hops) from None
            fetched_at = datetime.now(UTC)
            netloc = f"[{ip}]" if ":" in ip else ip
            if parts.port:
                netloc += f":{parts.port}"
            pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
            headers = {
                "Host": parts.netloc.rsplit("@", 1)[-1],
                "User-Agent": self.user_agent,
                "Accept-Encoding": "gzip, deflate",
                **extra,
            }
            ext = {"sni_hostname": host} if parts.scheme == "https" else {}
            remaining = budget - (time.monotonic() - started)
            if remaining <= 0:
                raise FetchError("timeout", f"{url}: no answer within {budget:g} s")
            request = self.client.build_request("GET", pinned, headers=headers, extensions=ext)
            try:
                response = self.client.send(request, stream=True)
            except httpx.TimeoutException:
                raise FetchError(
                    "timeout", f"{current}: timed out after {self.timeout:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError("network", f"{current}: {type(exc).__name__}: {exc}") from None
            try:
                if (
                    response.status_code in (301, 302, 303, 307, 308)
                    and "location" in response.headers
                ):
                    target = urljoin(current, response.headers["location"].strip())
                    hops.append(
                        {
                            "url": current,
                            "status": response.status_code,
                            "location": target,
                            "ip": ip,
                        }
                    )
                    current = target.split("#")[0]
                    continue
                body = self._read(
                    response, current, to_file, limit, started, budget, allow_truncated
                )
            finally:
                response.close()
            data, path, size, sha, truncated = body
            return Fetched(
                url=url,
                final_url=current,
                redirects=hops,
                status=response.status_code,
                headers=[[k, v] for k, v in response.headers.multi_items()],
                ip=ip,
                fetched_at=fetched_at,
                body=data,
                path=path,
                size=size,
                sha256=sha,
                truncated=truncated,
                elapsed=time.monotonic() - started,
            )
        raise FetchError(
            "redirects", f"{url}: more than {self.max_redirects} redirects", redirects=hops
        )

    def _read(
        self,
        response: httpx.Response,
        url: str,
        to_file: Path | None,
        limit: int,
        started: float,
        budget: float,
        allow_truncated: bool,
    ) -> tuple[bytes | None, Path | None, int, str, bool]:
        if to_file is not None and textual(response.headers.get("content-type", "")):
            to_file, limit = None, min(limit, self.page_max_bytes)
        if to_file is None:  # a page: the page's bounds, whatever a media fetch would allow
            budget = min(budget, self.deadline)
        declared = response.headers.get("content-length", "")
        encoded = response.headers.get("content-encoding", "").strip().lower()
        if (
            declared.isdigit()
            and int(declared) > limit
            and encoded in ("", "identity")
            and not allow_truncated
        ):
            raise FetchError(
                "too_large",
                f"{url}: {int(declared):,} bytes declared, over the {limit:,}-byte limit",
            )
        h = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        truncated = False
        out = open(to_file, "wb") if to_file is not None else None  # noqa: SIM115
        try:
            try:
                for chunk in response.iter_bytes():  # as it arrives: a drip must reach the clock
                    if size + len(chunk) > limit:
                        if not allow_truncated:
                            what = "decompresses to" if encoded not in ("", "identity") else "is"
                            raise FetchError(
                                "too_large", f"{url}: body {what} over the {limit:,}-byte limit"
                            )
                        chunk = chunk[: limit - size]
                        truncated = True
                    size += len(chunk)
                    h.update(chunk)
                    if out is not None:
                        out.write(chunk)
                    else:
                        chunks.append(chunk)
                    if truncated:
                        break
                    if time.monotonic() - started > budget:
                        if not allow_truncated:
                            raise FetchError(
                                "timeout", f"{url}: body not complete within {budget:g} s"
                            )
                        truncated = True
                        break
            except httpx.TimeoutException:
                raise FetchError("timeout", f"{url}: stalled for {self.timeout:g} s") from None
            except httpx.DecodingError as exc:
                raise FetchError(
                    "network", f"{url}: bad {encoded or 'body'} encoding: {exc}"
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError("network", f"{url}: {type(exc).__name__}: {exc}") from None
        except BaseException:
            if out is not None:
                out.close()
                to_file.unlink(missing_ok=True)  # type: ignore[union-attr]
            raise
        if out is not None:
            out.close()
            return None, to_file, size, h.hexdigest(), truncated
        return b"".join(chunks), None, size, h.hexdigest(), truncated


_TEXTUAL = (
    "text/",
    "application/xhtml",
    "application/xml",
    "application/json",
    "application/javascript",
    "application/rss",
    "application/atom",
    "application/vnd.apple.mpegurl",
    "application/x-mpegurl",
    "audio/mpegurl",
    "audio/x-mpegurl",
)


def textual(content_type: str) -> bool:
    """Whether a declared content type is one the monitor reads in memory (a missing one is
    not: the bytes decide, on disk)."""
    ct = content_type.split(";")[0].strip().lower()
    return ct.startswith(_TEXTUAL)


def _retry_after(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
