"""Load check of the platform service: `identify` of a 5 KB text page over HTTP.

    scripts/bench-api [--smoke] [--clients N] [--seconds S] [--json FILE]

Starts a real `jianwang serve` (uvicorn, loopback, one process) on a fresh home with the
demonstration data set, then N concurrent clients (asyncio + httpx, one connection each)
post the same 5 KB pirate page to `POST /api/v1/identify` with a bearer token for S seconds.
Reports requests per second, p50/p99 latency and errors (any answer other than 200 with the
right work counts as an error). Client and server share this machine's cores. Not a test;
`--smoke` (a few seconds, 4 clients) is run by the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.api.server import free_port, start_server, stop_server
from jianwang import Jianwang
from jianwang.demo import demo_dir, load_service_demo

ROOT = Path(__file__).resolve().parents[2]
PAGE_BYTES = 5 * 1024


def make_page() -> tuple[bytes, str]:
    """A 5 KB HTML pirate page around a registered chapter (the bundled 01 page's chapter,
    cut to fit), and the work it copies."""
    chapter = (demo_dir() / "corpus" / "tang_poetry-01.txt").read_text(encoding="utf-8")
    head = "<html><head><meta charset='utf-8'><title>第一章</title></head><body><div id='content'>"
    tail = "</div><div class='ad'>最新章节 免费阅读 www.example.com</div></body></html>"
    room = PAGE_BYTES - len((head + tail).encode())
    body = chapter.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    page = (head + body + tail).encode("utf-8")
    page += b" " * (PAGE_BYTES - len(page))
    return page, "W000001"


async def _client(
    url: str, token: str, page: bytes, work_id: str, until: float, out: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=60, headers=headers) as client:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            try:
                r = await client.post(url, files={"file": ("page.html", page, "text/html")})
                ok = r.status_code == 200 and any(
                    m["work_id"] == work_id for m in r.json()["matches"]
                )
                if not ok:
                    out["error_samples"].append(f"{r.status_code} {r.text[:200]}")
            except (httpx.HTTPError, ValueError) as exc:
                ok = False
                out["error_samples"].append(f"{type(exc).__name__}: {exc}")
            out["latencies"].append(time.perf_counter() - t0)
            out["errors"] += 0 if ok else 1


async def load(url: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    page, work_id = make_page()
    out: dict[str, Any] = {"latencies": [], "errors": 0, "error_samples": []}
    # one warm-up request (the first identify loads the catalogue)
    async with httpx.AsyncClient(timeout=60) as c:
        await c.post(
            url, files={"file": ("p.html", page)}, headers={"Authorization": f"Bearer {token}"}
        )
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(*(_client(url, token, page, work_id, until, out) for _ in range(clients)))
    elapsed = time.perf_counter() - start
    lat = sorted(out["latencies"])
    n = len(lat)
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "page_bytes": len(page),
        "requests": n,
        "requests_per_second": round(n / elapsed, 2) if elapsed else 0.0,
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p99_ms": round(1000 * lat[min(n - 1, int(0.99 * n))], 1) if lat else None,
        "errors": out["errors"],
        "error_samples": out["error_samples"][:5],
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jianwang-bench-api-") as tmp:
        home = Path(tmp) / "home"
        with Jianwang.open(home=home) as jw:
            load_service_demo(jw)
            _, token = jw.accounts.create_token(jw.accounts.find_user("inspector").id, "bench")
        port = free_port()
        proc = start_server(home, port)
        try:
            url = f"http://127.0.0.1:{port}/api/v1/identify"
            return asyncio.run(load(url, token, args.clients, args.seconds))
        finally:
            stop_server(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="a few seconds with 4 clients")
    p.add_argument("--clients", type=int, default=None, help="concurrent clients (20)")
    p.add_argument("--seconds", type=float, default=None, help="duration (60)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)
    args.clients = args.clients or (4 if args.smoke else 20)
    args.seconds = args.seconds or (3.0 if args.smoke else 60.0)
    r = run(args)
    print(
        f"identify over HTTP, {r['page_bytes']} B text page, {r['clients']} clients, "
        f"{r['seconds']} s: {r['requests']} requests, throughput {r['requests_per_second']} "
        f"requests/s, latency p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}"
    )
    for sample in r["error_samples"]:
        print(f"  error: {sample}")
    if args.json:
        args.json.write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
