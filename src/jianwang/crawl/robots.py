"""robots.txt per origin, through protego, fetched once per run with the guarded fetcher.

RFC 9309: a robots.txt that is missing (4xx) allows everything; one that cannot be reached
(5xx, network error, timeout) disallows everything until it can be.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from .fetch import Fetcher, FetchError

ROBOTS_MAX_BYTES = 512 * 1024


@dataclass
class RobotsRules:
    origin: str
    parser: Protego | None  # None with `allow_all` decided below
    allow_all: bool
    problem: str | None = None  # why everything is disallowed
    refused: bool = False  # the address guard refused the host: nothing there is fetched

    def allowed(self, url: str, agent: str) -> bool:
        if self.parser is None:
            return self.allow_all
        return bool(self.parser.can_fetch(url, agent))

    def delay(self, agent: str) -> float:
        if self.parser is None:
            return 0.0
        d = self.parser.crawl_delay(agent)
        rate = self.parser.request_rate(agent)
        out = float(d) if d else 0.0
        if rate is not None and rate.requests:
            out = max(out, rate.seconds / rate.requests)
        return out

    def sitemaps(self) -> list[str]:
        return list(self.parser.sitemaps) if self.parser is not None else []


def origin_of(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


class Robots:
    def __init__(self, fetcher: Fetcher, obey: bool = True):
        self.fetcher = fetcher
        self.obey = obey
        self._rules: dict[str, RobotsRules] = {}
        self._lock = threading.Lock()

    def rules(self, url: str) -> RobotsRules:
        origin = origin_of(url)
        with self._lock:
            known = self._rules.get(origin)
        if known is not None:
            return known
        rules = self._load(origin) if self.obey else RobotsRules(origin, None, True)
        with self._lock:
            return self._rules.setdefault(origin, rules)

    def _load(self, origin: str) -> RobotsRules:
        try:
            got = self.fetcher.fetch(
                origin + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES, allow_truncated=True
            )
        except FetchError as exc:
            if exc.kind in ("refused", "scheme"):
                return RobotsRules(origin, None, False, exc.message, refused=True)
            return RobotsRules(origin, None, False, f"robots.txt unreachable: {exc.message}")
        if got.status >= 500:
            return RobotsRules(origin, None, False, f"robots.txt answered HTTP {got.status}")
        if got.status >= 400:
            return RobotsRules(origin, None, True)
        text = (got.body or b"").decode("utf-8", "replace")
        return RobotsRules(origin, Protego.parse(text), True)
