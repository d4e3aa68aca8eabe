"""Monitoring benchmark: crawl → capture → identify on the local pirate web.

    scripts/bench-monitor [--smoke] [--filler N] [--concurrency 1,2,4] [--json FILE]

Starts the local world of tests/web_world.py (a pirate literature site, a video site with
MP4/HLS/iframe players, a download site with archives; `--filler 330` gives 1,000+ pages) and
crawls its three content sites with the monitor at per-host concurrency 1, 2 and 4, each in a
fresh process and a fresh data home (so peak memory is that crawl's), with no latency (the
cost of the work itself) and with 50 ms before every response (a remote site's round trip:
what per-host concurrency is for). The baseline, in the same run, fetches the URLs the monitor
fetched, sequentially with httpx, and identifies each body: no link extraction, robots.txt,
address guard, politeness, database, evidence or HLS. Then the trap site is crawled once to report
each trap's outcome. Prints pages/s, MB/s, peak memory, recall of the planted copies, hits on
clean pages, and ratios against the baseline. Not a test; `--smoke` is run by the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("JIANWANG_BENCH_CACHE", Path.home() / ".cache" / "jianwang-bench"))
CONTENT_SITES = ("novels", "videos", "downloads")
SETTINGS = {
    "crawl_allow_networks": "127.0.0.1/32",
    "crawl_timeout_seconds": 2,
    "crawl_page_seconds": 3,
    "crawl_page_max_bytes": 4 * 1024 * 1024,
    "crawl_backoff_seconds": "0.05",
}


# ---------------------------------------------------------------- the child processes


def _register(jw: Any, works: dict[str, list[Any]]) -> dict[str, str]:
    from jianwang.services.registry import WorkInput

    return {
        key: jw.registry.add_work(WorkInput([Path(f) for f in files], wtype, title, owner)).id
        for key, (wtype, title, owner, files) in works.items()
    }


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not carried over from
    the parent across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_monitor(job: dict[str, Any]) -> dict[str, Any]:
    from jianwang import Jianwang, SiteInput

    home = Path(job["home"])
    extra = {} if job["screenshots"] else {"chromium": ""}
    with Jianwang.open(home=home, **SETTINGS, **extra) as jw:
        ids = _register(jw, job["works"])
        for index in jw.indexes._open.values():  # warm: the crawl measures crawling
            index.refresh(0)
        sites = {}
        for key, spec in job["sites"].items():
            site = jw.sites.add(
                SiteInput(spec["name"], [f"{key}.test"], spec["category"], "national")
            )
            jw.monitor.set_plan(
                site.id,
                seeds=spec["seeds"],
                sitemaps=spec["sitemaps"],
                search_templates=spec["search_templates"],
                include=spec["include"],
                exclude=spec["exclude"],
                max_depth=8,
                max_pages=job["max_pages"],
                crawl_delay=0.0,
                concurrency=job["concurrency"],
            )
            sites[key] = site.id
        start = time.perf_counter()
        cpu0 = time.process_time()
        runs = {key: jw.monitor.run(sid) for key, sid in sites.items()}
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        hits = [(h.url, h.work_id) for h in jw.monitor.hits(limit=100_000)]
        captures = len({h.last_capture_id for h in jw.monitor.hits(limit=100_000)})
        verified = all(
            jw.monitor.verify_capture(h.capture_id) for h in jw.monitor.hits(limit=100_000)
        )
        fetched = [
            u["url"]
            for r in runs.values()
            for u in jw.monitor.run_urls(r.id, limit=1_000_000)
            if u["state"] in ("done", "failed")
        ]
        return {
            "fetched": fetched,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "pages": sum(r.pages for r in runs.values()),
            "bytes": sum(r.fetched_bytes for r in runs.values()),
            "errors": sum(r.errors for r in runs.values()),
            "runs": {
                k: {"state": r.state.value, "pages": r.pages, "summary": r.summary}
                for k, r in runs.items()
            },
            "hits": hits,
            "captures": captures,
            "captures_verified": verified,
            "ids": ids,
            "peak_mb": _peak_mb(),
        }


def child_baseline(job: dict[str, Any]) -> dict[str, Any]:
    """A bare crawler given the URLs the monitor fetched: sequential httpx GETs and
    `identify` on each body; no robots.txt, guard, politeness, database, evidence or HLS."""
    import httpx

    from jianwang import Jianwang
    from jianwang.domain import JianwangError

    home = Path(job["home"])
    with Jianwang.open(home=home, chromium="") as jw:
        ids = _register(jw, job["works"])
        for index in jw.indexes._open.values():
            index.refresh(0)
        hits: list[tuple[str, str]] = []
        pages = 0
        size = 0
        start = time.perf_counter()
        cpu0 = time.process_time()
        with httpx.Client(timeout=3.0) as client:
            for url in job["urls"]:
                try:
                    r = client.get(url)
                except httpx.HTTPError:
                    continue
                pages += 1
                size += len(r.content)
                try:
                    ident = jw.identify(r.content, url)
                except JianwangError:
                    continue
                hits += [(url, m.work_id) for m in ident.matches]
        return {
            "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu0,
            "pages": pages,
            "bytes": size,
            "hits": hits,
            "ids": ids,
            "peak_mb": _peak_mb(),
        }


# ---------------------------------------------------------------- the parent


def _spawn(kind: str, job: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        job = {**job, "home": str(Path(tmp) / "home")}
        jf = Path(tmp) / "job.json"
        jf.write_text(json.dumps(job))
        res = subprocess.run(
            [sys.executable, "-m", "bench.monitor.run", "--child", kind, str(jf)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if res.returncode != 0:
            raise SystemExit(f"{kind} child failed:\n{res.stderr[-4000:]}")
        return json.loads(Path(tmp, "result.json").read_text())


def _accuracy(result: dict[str, Any], planted: list[Any], clean: list[str]) -> dict[str, Any]:
    from jianwang.crawl.extract import canonical

    ids = result["ids"]
    found = {(canonical(u) or u, w) for u, w in result["hits"]}
    want = {(canonical(p.url) or p.url, ids[p.work]) for p in planted}
    got = len(want & found)
    clean_c = {canonical(u) or u for u in clean}
    fp = sorted({u for u, _ in found if u in clean_c})
    by_media: dict[str, list[int]] = {}
    for p in planted:
        k = by_media.setdefault(p.media, [0, 0])
        k[1] += 1
        k[0] += (canonical(p.url) or p.url, ids[p.work]) in found
    return {
        "recall": got / len(want) if want else 0.0,
        "found": got,
        "planted": len(want),
        "by_media": {m: f"{a}/{b}" for m, (a, b) in by_media.items()},
        "clean_false_positives": len(fp),
        "false_positive_urls": fp[:10],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="small world, concurrency 1 and 2")
    ap.add_argument(
        "--filler", type=int, default=330, help="clean pages per site (330: 1,000+ pages)"
    )
    ap.add_argument("--concurrency", default="1,2,4")
    ap.add_argument(
        "--latency", default="0,0.05", help="seconds each response waits (a remote round trip)"
    )
    ap.add_argument("--no-screenshots", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, jf = args.child
        job = json.loads(Path(jf).read_text())
        out = child_monitor(job) if kind == "monitor" else child_baseline(job)
        Path(jf).with_name("result.json").write_text(json.dumps(out))
        return

    sys.path.insert(0, str(ROOT))
    from tests.web_world import World

    filler = 12 if args.smoke else args.filler
    levels = [1, 2] if args.smoke else [int(x) for x in args.concurrency.split(",")]
    latencies = [0.0] if args.smoke else [float(x) for x in args.latency.split(",")]
    root = CACHE / "monitor-world"
    report: dict[str, Any] = {"filler": filler, "by_latency": {}}
    with World(root, filler_pages=filler) as world:
        pages = world.page_count()
        content_pages = sum(pages[k] for k in CONTENT_SITES)
        print(
            f"local world: {sum(pages.values())} HTML pages ({content_pages} on the content "
            f"sites), {len(world.planted)} planted copies, {len(world.clean_urls)} clean URLs"
        )
        works = {k: [t, ti, o, [str(f) for f in fs]] for k, (t, ti, o, fs) in world.works.items()}
        sites = {
            k: {
                "name": s.name,
                "category": s.category,
                "seeds": s.seeds,
                "sitemaps": s.sitemaps,
                "search_templates": s.search_templates,
                "include": s.include,
                "exclude": s.exclude,
            }
            for k, s in world.sites.items()
        }
        content = {k: sites[k] for k in CONTENT_SITES}
        planted = [p for p in world.planted if p.site in CONTENT_SITES]
        clean = world.clean_urls
        job = {
            "works": works,
            "sites": content,
            "max_pages": 100_000,
            "screenshots": not args.no_screenshots,
        }
        for latency in latencies:
            world.latency = latency
            mon: dict[int, dict[str, Any]] = {}
            for c in levels:
                world.reset_logs()
                r = _spawn("monitor", {**job, "concurrency": c})
                r["accuracy"] = _accuracy(r, planted, clean)
                r["requests"] = len(world.requests())
                r["forbidden_requests"] = len(world.forbidden_requests())
                mon[c] = r
            world.reset_logs()
            base = _spawn("baseline", {**job, "urls": mon[levels[0]]["fetched"]})
            base["accuracy"] = _accuracy(base, planted, clean)
            _print(latency, base, mon, levels)
            report["by_latency"][str(latency)] = {
                "baseline": {k: v for k, v in base.items() if k not in ("hits", "ids")},
                "monitor": {
                    str(c): {k: v for k, v in r.items() if k not in ("hits", "ids", "fetched")}
                    for c, r in mon.items()
                },
                "pages_per_second": {str(c): _rate(r)[0] for c, r in mon.items()},
                "mb_per_second": {str(c): _rate(r)[1] for c, r in mon.items()},
                "baseline_pages_per_second": _rate(base)[0],
            }

        world.latency = 0.0
        world.reset_logs()
        traps = _spawn(
            "monitor",
            {**job, "sites": {"traps": sites["traps"]}, "concurrency": 4, "screenshots": False},
        )
        report["traps"] = {
            "summary": traps["runs"]["traps"]["summary"].get("counts", {}),
            "forbidden_requests": len(world.forbidden_requests()),
            "seconds": traps["seconds"],
        }
    t = report["traps"]
    print(
        f"\ntrap site: {t['seconds']:.1f} s, outcomes {json.dumps(t['summary'])}, "
        f"{t['forbidden_requests']} requests to the forbidden server"
    )
    first = report["by_latency"][str(latencies[0])]
    report["monitor"] = first["monitor"]
    report["pages_per_second"] = first["pages_per_second"]
    report["baseline_pages_per_second"] = first["baseline_pages_per_second"]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False))


def _rate(r: dict[str, Any]) -> tuple[float, float]:
    return r["pages"] / r["seconds"], r["bytes"] / 1e6 / r["seconds"]


def _print(
    latency: float, base: dict[str, Any], mon: dict[int, dict[str, Any]], levels: list[int]
) -> None:
    bp, _ = _rate(base)
    print(
        f"\nlatency {latency * 1000:.0f} ms per response (wall clock; the machine's cores are "
        "shared with the local servers)"
    )
    print(
        f"{'crawler':26} {'pages':>6} {'MB':>7} {'s':>7} {'pages/s':>8} {'MB/s':>6} "
        f"{'x base':>6} {'peak MB':>8} {'recall':>7} {'clean FP':>8}"
    )

    def row(name: str, r: dict[str, Any], ratio: str) -> None:
        p, m = _rate(r)
        a = r["accuracy"]
        print(
            f"{name:26} {r['pages']:>6} {r['bytes'] / 1e6:>7.1f} {r['seconds']:>7.1f} "
            f"{p:>8.1f} {m:>6.2f} {ratio:>6} {r['peak_mb']:>8.0f} {a['recall']:>7.3f} "
            f"{a['clean_false_positives']:>8}"
        )

    row("baseline (same URLs, seq.)", base, "1.00")
    for c, r in mon.items():
        row(f"monitor, {c} per host", r, f"{_rate(r)[0] / bp:.2f}")
    c1 = mon[levels[0]]
    print(
        f"scaling with per-host concurrency (pages/s relative to {levels[0]}): "
        + ", ".join(f"{c}: {_rate(r)[0] / _rate(c1)[0]:.2f}x" for c, r in mon.items())
    )
    for c, r in mon.items():
        a = r["accuracy"]
        print(
            f"monitor {c}/host: found {a['found']}/{a['planted']} planted copies "
            f"({', '.join(f'{k} {v}' for k, v in a['by_media'].items())}), "
            f"{a['clean_false_positives']} hits on clean URLs, {r['captures']} captures "
            f"(all verified: {r['captures_verified']}), {r['errors']} errors, "
            f"{r['forbidden_requests']} forbidden requests, CPU {r['cpu_seconds']:.1f} s"
        )
    ba = base["accuracy"]
    print(
        f"baseline: found {ba['found']}/{ba['planted']} "
        f"({', '.join(f'{k} {v}' for k, v in ba['by_media'].items())}), "
        f"{ba['clean_false_positives']} hits on clean URLs, CPU {base['cpu_seconds']:.1f} s"
    )


if __name__ == "__main__":
    main()
