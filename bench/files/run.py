"""Software, game and archive identification benchmark: Jianwang's file method beside a
baseline of plain SHA-256 plus ssdeep (``ppdeep``), same corpus, same queries, same run.

Per program the oldest release is registered as a software work; the game's data files as a
game work; a soundtrack as a music work. Queries, written as files and identified by path
(as ``jianwang identify`` does):

* ``renamed``: the registered file itself; ``patched``: 8 bytes flipped in the middle half;
  ``rebranded``: 24 of its printable strings changed (same length); ``appended``: 64 KB–2 MB
  of random payload added; ``truncated``: its first 80 % and 60 %; ``other_release``: every
  later release of the program;
* ``zip``, ``7z``, ``tar.xz``: the file renamed inside an archive beside two unrelated
  binaries; ``nested``: inside a zip inside a tar.gz;
* ``game_repack``: 60 % of the game's files, renamed, in a tar.xz; ``album_zip``: the
  soundtrack renamed in a zip;
* negatives: unrelated binaries of this machine (a false positive is any ``match``).

A hit needs the right work with verdict ``match`` (inside archives: naming the member that
holds it). The baseline hashes each query file as it is (it does not unpack archives) and
calls it a hit when its SHA-256 equals a reference's or ssdeep scores it above 0 against a
reference of the right work (``--ssdeep-threshold``).

Throughput: the file method's fingerprinting (SHA-256, chunks, TLSH) of every file ≥ 1 MB,
one thread, MB/s; the baseline's SHA-256 + ssdeep hash of the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import re
import shutil
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.files.corpus import Corpus, build, default_cache_dir, half


@dataclass
class Query:
    kind: str
    path: Path
    work: str | None  # expected work title; None for a negative
    member: str | None = None  # expected member path inside an archive
    #: other releases: where they come from; negatives: their half ("A" tuning, "B" held out)
    group: str = ""


def _rebrand(data: bytes, rng: random.Random, n: int = 24) -> bytes:
    runs = [m for m in re.finditer(rb"[A-Za-z][ -~]{9,}", data)]
    out = bytearray(data)
    for m in rng.sample(runs, min(n, len(runs))):
        s = m.group()
        out[m.start() : m.end()] = s.swapcase() if s.swapcase() != s else s[::-1]
    return bytes(out)


def _patch(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(8):
        i = rng.randrange(len(data) // 4, len(data) * 3 // 4)
        out[i] ^= 0xFF
    return bytes(out)


def _tar(path: Path, files: dict[str, bytes], mode: str) -> Path:
    with tarfile.open(path, mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _7z(path: Path, files: dict[str, bytes]) -> Path:
    import py7zr

    with py7zr.SevenZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(data, name)
    return path


def make_queries(corpus: Corpus, qdir: Path, seed: int) -> list[Query]:
    rng = random.Random(seed)
    qs: list[Query] = []
    # unrelated binaries beside the copy in archives, kept apart from the negatives
    n_fill = 40 if len(corpus.negatives) > 200 else 4
    fillers = corpus.negatives[-n_fill:]
    negs = corpus.negatives[:-n_fill]

    def put(name: str, data: bytes) -> Path:
        p = qdir / name
        p.write_bytes(data)
        return p

    for prog in corpus.programs:
        _, ref = prog.releases[0]
        data = ref.read_bytes()
        t = prog.name
        qs.append(Query("renamed", put(f"{t}-renamed.bin", data), t))
        for i in range(3):
            qs.append(Query("patched", put(f"{t}-patched{i}", _patch(data, rng)), t))
        for i in range(2):
            qs.append(Query("rebranded", put(f"{t}-rebranded{i}", _rebrand(data, rng)), t))
        for i in range(2):
            payload = rng.randbytes(rng.randrange(64_000, 2_000_000))
            qs.append(Query("appended", put(f"{t}-appended{i}", data + payload), t))
        for frac in (0.8, 0.6):
            cut = data[: int(len(data) * frac)]
            qs.append(Query("truncated", put(f"{t}-truncated{int(frac * 100)}", cut), t))
        for version, path in prog.releases[1:]:
            q = Query("other_release", put(f"{t}-{version}", path.read_bytes()), t)
            q.group = prog.source
            qs.append(q)
        member = f"app/bin/{t}-cracked"
        others = {f"app/lib/{f.name}": f.read_bytes() for f in rng.sample(fillers, 2)}
        content = {member: data, **others}
        qs.append(Query("zip", _zip(qdir / f"{t}.zip", content), t, member))
        qs.append(Query("7z", _7z(qdir / f"{t}.7z", content), t, member))
        qs.append(Query("tar.xz", _tar(qdir / f"{t}.tar.xz", content, "w:xz"), t, member))
        inner = io.BytesIO()
        with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(f"setup/{t}.exe", data)
        nested = _tar(qdir / f"{t}-bundle.tar.gz", {"bundle/setup.zip": inner.getvalue()}, "w:gz")
        qs.append(Query("nested", nested, t, f"bundle/setup.zip/setup/{t}.exe"))
    if corpus.game_files:
        chosen = rng.sample(corpus.game_files, max(1, int(len(corpus.game_files) * 0.6)))
        files = {f"REPACK/{i:03d}_{p.name}": p.read_bytes() for i, p in enumerate(chosen)}
        qs.append(Query("game_repack", _tar(qdir / "game-repack.tar.xz", files, "w:xz"), "game"))
    if corpus.album is not None:
        qs.append(
            Query(
                "album_zip",
                _zip(qdir / "album.zip", {"music/track01.ogg": corpus.album.read_bytes()}),
                "album",
                "music/track01.ogg",
            )
        )
    for i, p in enumerate(negs):
        q = Query("negative", put(f"neg{i:04d}-{p.name}", p.read_bytes()), None, group=half(p))
        qs.append(q)
    return qs


# ---------------------------------------------------------------- Jianwang


def run_jianwang(corpus: Corpus, queries: list[Query], home: Path, log: Any) -> dict[str, Any]:
    from jianwang import Jianwang, WorkInput

    out: dict[str, Any] = {}
    with Jianwang.open(home=home) as jw:
        t0 = time.perf_counter()
        for prog in corpus.programs:
            _, ref = prog.releases[0]
            jw.registry.add_work(WorkInput([ref], "software", prog.name, "bench"))
        if corpus.game_files:
            jw.registry.add_work(WorkInput(corpus.game_files, "game", "game", "bench"))
        if corpus.album is not None:
            jw.registry.add_work(WorkInput([corpus.album], "music", "album", "bench"))
        out["register_seconds"] = round(time.perf_counter() - t0, 2)
        results = []
        t0 = time.perf_counter()
        qbytes = 0
        for q in queries:
            qbytes += q.path.stat().st_size
            ident = jw.identify_path(q.path, q.path.name)
            # the closest reference seen (any verdict): how near the thresholds it came
            near = [dict(m.evidence) for m in ident.matches if m.method == "file"]
            matches = [m for m in ident.matches if m.verdict.value == "match"]
            titles = [m.title for m in matches]
            hit = False
            evidence: dict[str, float] = {}
            for m in matches:
                if m.title == q.work and (q.member is None or m.member == q.member):
                    hit = True
                    evidence = dict(m.evidence)
            results.append(
                {"kind": q.kind, "query": q.path.name, "expected": q.work, "hit": hit,
                 "matched": titles, "evidence": evidence, "group": q.group,
                 "closest": _closest(near)}
            )  # fmt: skip
        seconds = time.perf_counter() - t0
    out["identify_mb_per_s"] = round(qbytes / 1e6 / seconds, 2)
    out["results"] = results
    return out


def _closest(evidence: list[dict[str, float]]) -> dict[str, float]:
    """The highest similarities and lowest TLSH distances among a query's candidates."""
    out: dict[str, float] = {}
    for e in evidence:
        for k in ("rebuild", "code", "strings", "coverage"):
            if k in e:
                out[k] = max(out.get(k, 0.0), e[k])
        for k in ("tlsh", "section_tlsh"):
            if k in e:
                out[k] = min(out.get(k, 999.0), e[k])
    return out


def throughput(files: list[Path]) -> dict[str, float]:
    """One thread: the file method's fingerprinting and the baseline's hashing of the same
    large files, MB/s."""
    import ppdeep

    from jianwang.fingerprint.files import FileMethod

    method = FileMethod()
    datas = [f.read_bytes() for f in files]
    mb = sum(len(d) for d in datas) / 1e6
    t0 = time.process_time()
    for d in datas:
        method.extract(d)
    ours = time.process_time() - t0
    t0 = time.process_time()
    for d in datas:
        hashlib.sha256(d).digest()
        ppdeep.hash(d)
    base = time.process_time() - t0
    return {
        "files": len(datas),
        "mb": round(mb, 1),
        "jianwang_mb_per_s_per_core": round(mb / ours, 1),
        "baseline_mb_per_s_per_core": round(mb / base, 1),
    }


def pair_margins(corpus: Corpus, queries: list[Query]) -> dict[str, dict[str, list[Any]]]:
    """Every negative against every reference file, by the method's measures directly (not
    only the candidates the index returns): per half, the highest rebuild similarity and the
    lowest TLSH distances, with the pair. The thresholds come from half A's."""
    import numpy as np

    from jianwang.fingerprint import files as F

    def facts(path: Path) -> tuple[Any, set[int], set[int]]:
        f, keys, _ = F.analyse(path.read_bytes())
        kind = keys >> np.uint64(60)
        return (f, set(keys[kind == F.KIND_CODE].tolist()),
                set(keys[kind == F.KIND_STRING].tolist()))  # fmt: skip

    refs = [(p.name, facts(p.releases[0][1])) for p in corpus.programs]
    refs += [("game", facts(p)) for p in corpus.game_files]
    out: dict[str, dict[str, list[Any]]] = {}
    for q in queries:
        if q.kind != "negative":
            continue
        qf, qc, qs = facts(q.path)
        best = out.setdefault(q.group, {})
        for name, (rf, rc, rs) in refs:
            pair = f"{q.path.name} / {name}"
            js = [F._jaccard(len(qc & rc), len(qc), len(rc)),
                  F._jaccard(len(qs & rs), len(qs), len(rs))]  # fmt: skip
            got = [j for j in js if j is not None]
            if got and sum(got) / len(got) > best.get("rebuild", [0.0])[0]:
                best["rebuild"] = [round(sum(got) / len(got), 4), pair]
            if qf.whole and rf.whole:
                d = F.tlsh_distance(qf.whole, rf.whole)
                if d < best.get("tlsh", [999])[0]:
                    best["tlsh"] = [d, pair]
            if qf.sections and rf.sections:
                d = min(F.tlsh_distance(a, b) for a in qf.sections for b in rf.sections)
                if d < best.get("section_tlsh", [999])[0]:
                    best["section_tlsh"] = [d, pair]
    return out


# ---------------------------------------------------------------- baseline


def run_baseline(corpus: Corpus, queries: list[Query], threshold: int) -> dict[str, Any]:
    import ppdeep

    refs: list[tuple[str, str, str]] = []  # (work, sha256, ssdeep)
    for prog in corpus.programs:
        data = prog.releases[0][1].read_bytes()
        refs.append((prog.name, hashlib.sha256(data).hexdigest(), ppdeep.hash(data)))
    for p in corpus.game_files:
        data = p.read_bytes()
        refs.append(("game", hashlib.sha256(data).hexdigest(), ppdeep.hash(data)))
    if corpus.album is not None:
        data = corpus.album.read_bytes()
        refs.append(("album", hashlib.sha256(data).hexdigest(), ppdeep.hash(data)))
    by_sha = {sha: w for w, sha, _ in refs}
    results = []
    for q in queries:
        data = q.path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        matched: set[str] = set()
        if sha in by_sha:
            matched.add(by_sha[sha])
        else:
            h = ppdeep.hash(data)
            for w, _, rh in refs:
                if ppdeep.compare(h, rh) > threshold:
                    matched.add(w)
        results.append(
            {"kind": q.kind, "hit": q.work in matched, "matched": sorted(matched),
             "group": q.group}
        )  # fmt: skip
    return {"results": results}


# ---------------------------------------------------------------- figures


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {}
    for r in results:
        if r["kind"] == "negative":
            continue
        names = [r["kind"]]
        if r["kind"] == "other_release" and r.get("group"):
            names.append(f"other_release/{r['group']}")
        for name in names:
            k = kinds.setdefault(name, {"queries": 0, "hits": 0})
            k["queries"] += 1
            k["hits"] += int(r["hit"])
    for k in kinds.values():
        k["rate"] = round(k["hits"] / k["queries"], 4)
    neg = [r for r in results if r["kind"] == "negative"]
    fp = sum(1 for r in neg if r["matched"])
    halves = {}
    for h in sorted({r.get("group", "") for r in neg}):
        sub = [r for r in neg if r.get("group", "") == h]
        closest: dict[str, Any] = {}
        for key, better in (("rebuild", max), ("code", max), ("strings", max),
                            ("tlsh", min), ("section_tlsh", min)):  # fmt: skip
            seen = [(r["closest"][key], r["query"]) for r in sub if key in r.get("closest", {})]
            if seen:
                closest[key] = list(better(seen))
        halves[h or "all"] = {
            "negatives": len(sub),
            "false_positives": sum(1 for r in sub if r["matched"]),
            "closest": closest,
        }
    return {
        "by_distortion": kinds,
        "negatives": len(neg),
        "false_positives": fp,
        "false_positive_rate": round(fp / max(len(neg), 1), 5),
        "negative_halves": halves,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="this machine's binaries, seconds")
    ap.add_argument("--negatives", type=int, default=None, help="unrelated binaries (default 1000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ssdeep-threshold", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--json", type=Path, help="write all figures here")
    args = ap.parse_args(argv)
    cache = args.cache or default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    n_neg = (args.negatives or (20 if args.smoke else 1000)) + (4 if args.smoke else 40)

    def log(msg: str) -> None:
        print(f"  {msg}", file=sys.stderr, flush=True)

    t_start = time.perf_counter()
    corpus = build(cache, args.smoke, log, n_neg)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=cache))
    try:
        qdir = work / "queries"
        qdir.mkdir()
        queries = make_queries(corpus, qdir, args.seed)
        print(
            f"corpus: {len(corpus.programs)} programs "
            f"({sum(len(p.releases) for p in corpus.programs)} releases), "
            f"{len(corpus.game_files)} game files, album: {corpus.album is not None}, "
            f"{sum(q.kind == 'negative' for q in queries)} negatives; {len(queries)} queries"
        )
        ours = run_jianwang(corpus, queries, work / "home", log)
        base = run_baseline(corpus, queries, args.ssdeep_threshold)
        big = [p for prog in corpus.programs for _, p in prog.releases if p.stat().st_size >= 1e6]
        big += [p for p in corpus.negatives if p.stat().st_size >= 1e6][:20]
        speed = throughput(big or [p for prog in corpus.programs for _, p in prog.releases])
        margins = pair_margins(corpus, queries)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    s_ours, s_base = summarise(ours["results"]), summarise(base["results"])
    print(f"\n{'distortion':<22}{'queries':>8}{'jianwang':>10}{'ssdeep+sha':>12}")
    first = list(s_ours["by_distortion"])
    for kind in sorted(first, key=lambda k: first.index(k.split("/")[0])):  # sources: after
        k, b = s_ours["by_distortion"][kind], s_base["by_distortion"][kind]
        print(f"{kind:<22}{k['queries']:>8}{k['rate']:>10.3f}{b['rate']:>12.3f}")
    print(
        f"{'false positives':<22}{s_ours['negatives']:>8}"
        f"{s_ours['false_positive_rate']:>10.4f}{s_base['false_positive_rate']:>12.4f}"
    )
    for h, v in s_ours["negative_halves"].items():
        bh = s_base["negative_halves"][h]
        label = {"A": "tuning", "B": "held out"}.get(h, h)
        print(
            f"  half {h} ({label}): {v['false_positives']}/{v['negatives']} "
            f"(baseline {bh['false_positives']}); closest {v['closest']}"
        )
    for h, m in sorted(margins.items()):
        print(f"  half {h}, every negative x reference file: {m}")
    print("\nother releases (registered: the oldest):")
    for r in ours["results"]:
        if r["kind"] == "other_release":
            e = r["evidence"] or r["closest"]
            shown = {k: e[k] for k in ("rebuild", "code", "strings", "tlsh", "section_tlsh",
                                       "coverage") if k in e}  # fmt: skip
            print(f"  {'hit ' if r['hit'] else 'MISS'} {r['group']:<7}{r['query']:<36}{shown}")
    print(
        f"\nthroughput (one core, {speed['files']} large files, {speed['mb']} MB): "
        f"jianwang {speed['jianwang_mb_per_s_per_core']} MB/s, "
        f"sha256+ssdeep {speed['baseline_mb_per_s_per_core']} MB/s; "
        f"identify end to end {ours['identify_mb_per_s']} MB/s"
    )
    missed = [r for r in ours["results"] if r["kind"] != "negative" and not r["hit"]]

    fps = [r for r in ours["results"] if r["kind"] == "negative" and r["matched"]]
    for r in [r for r in missed if r["kind"] != "other_release"][:20]:  # those: above
        print(f"  missed {r['kind']}: {r['query']} matched={r['matched']} {r['evidence']}")
    for r in fps[:20]:
        print(f"  false positive: {r['query']} -> {r['matched']}")
    figures = {
        "jianwang": {**s_ours, "identify_mb_per_s": ours["identify_mb_per_s"],
                     "register_seconds": ours["register_seconds"]},
        "baseline": {**s_base, "ssdeep_threshold": args.ssdeep_threshold},
        "throughput": speed,
        "pair_margins": margins,
        "smoke": args.smoke,
        "seconds": round(time.perf_counter() - t_start, 1),
        "missed": missed,
    }  # fmt: skip
    print(f"total {figures['seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
