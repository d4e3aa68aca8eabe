"""Online-literature identification benchmark: Jianwang against a MinHashLSH baseline.

    scripts/bench-text [--smoke] [--pages N] [--negatives N] [--seed S] [--json FILE]

Builds (or reuses) the real corpus, registers the registered chapters through the public
import path, generates pirate pages per distortion family (plus pages made from unregistered
chapters of the same genres), and measures, for Jianwang and for `datasketch` MinHashLSH in
the same run: chapter-level recall/precision, false positives on negatives, character-level
precision/recall/granularity/PlagDet (Jianwang only: the baseline cannot localise), pages per
second per core (CPU time of this single-threaded process, page bytes in, decoding and
normalisation included for both), and index bytes per registered chapter.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.text.baseline import MinHashBaseline
from bench.text.corpus import Chapter, load_corpus
from bench.text.metrics import char_metrics
from bench.text.pages import FAMILIES, Page, make_pages, make_retranslation_pages, page_cases
from jianwang import Jianwang
from jianwang.domain import JianwangError, Verdict
from jianwang.fingerprint.base import methods
from jianwang.media import decode


@dataclass
class FamilyResult:
    pages: int = 0
    negatives: int = 0
    tp: int = 0
    predicted: int = 0
    correct_predicted: int = 0
    fp_negative_pages: int = 0
    review_negative_pages: int = 0
    base_tp: int = 0
    base_predicted: int = 0
    base_correct_predicted: int = 0
    base_fp_negative_pages: int = 0
    cases: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # page idx + case
    detections: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    langs: dict[int, str] = field(default_factory=dict)  # page idx -> language


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def register(jw: Jianwang, chapters: list[Chapter], workdir: Path) -> tuple[dict[str, str], float]:
    """Register chapters through `works import`; (chapter key -> work id, seconds)."""
    files = workdir / "chapters"
    files.mkdir()
    lines = ["file,type,title,owner"]
    for i, ch in enumerate(chapters):
        f = files / f"{i:05d}.txt"
        f.write_text(ch.text, encoding="utf-8")
        lines.append(f"{f.name},literature,{ch.key},{ch.genre}")
    manifest = files / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    t0 = time.perf_counter()
    report = jw.registry.import_manifest(manifest)
    seconds = time.perf_counter() - t0
    if report.failed:
        raise SystemExit(f"registration failed: {report.failed[:3]}")
    works, _ = jw.registry.list_works(limit=len(chapters) + 10)
    return {w.title: w.id for w in works}, seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = load_corpus("smoke" if args.smoke else "full", limit=args.limit)
    registered, negative = corpus.registered, corpus.negative
    _progress(f"corpus: {len(registered)} registered, {len(negative)} negative chapters")
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="jianwang-bench-"))
    results: dict[str, Any] = {"registered": len(registered), "negative_chapters": len(negative)}
    try:
        jw = Jianwang.open(home=workdir / "home")
        key_to_work, reg_seconds = register(jw, registered, workdir)
        work_to_key = {v: k for k, v in key_to_work.items()}
        results["register_seconds"] = reg_seconds
        stats = [jw.indexes.for_method(m).stats() for m in methods().values()]
        index_bytes = sum(s["bytes"] for s in stats)
        results["index_bytes_per_chapter"] = index_bytes / len(registered)
        ref_bytes = sum(jw.indexes.references_for(m).bytes_on_disk() for m in methods().values())
        results["reference_store_bytes_per_chapter"] = ref_bytes / len(registered)
        mean_chapter = sum(len(c.text.encode()) for c in registered) / len(registered)
        results["mean_chapter_bytes"] = mean_chapter

        base = MinHashBaseline()
        t0 = time.perf_counter()
        for ch in registered:
            base.add(ch.key, ch.text)
        results["baseline_register_seconds"] = time.perf_counter() - t0
        results["baseline_index_bytes_per_chapter"] = base.index_bytes() / len(registered)

        by_key = {c.key: c for c in registered}
        fams: dict[str, FamilyResult] = defaultdict(FamilyResult)
        ours_cpu = base_cpu = 0.0
        n_pages = 0
        every_page: list[Page] = []
        for family in FAMILIES:
            pos_src = rng.sample(registered, min(args.pages, len(registered)))
            neg_src = rng.sample(negative, min(args.negatives, len(negative)))
            pages = make_pages(pos_src, family, rng) + make_pages(
                neg_src, family, rng, negative=True
            )
            fr = fams[family]
            every_page.extend(pages)
            for page in pages:
                c0 = time.process_time()
                try:
                    ident = jw.identify(page.html, page.page_id)
                except JianwangError as exc:
                    raise SystemExit(f"{page.page_id}: {exc.message}") from None
                c1 = time.process_time()
                text = str(decode(page.html).signal)
                found = base.query(text)
                c2 = time.process_time()
                ours_cpu += c1 - c0
                base_cpu += c2 - c1
                n_pages += 1
                wrong = _score_page(fr, page, ident.matches, found, work_to_key, by_key, text)
                if wrong and args.dump:
                    args.dump.mkdir(parents=True, exist_ok=True)
                    (args.dump / f"{wrong}-{page.page_id}.html").write_bytes(page.html)
            _progress(f"{family:>13}: {_summary(fr)}")
        if corpus.retranslations:
            ret = [c for c in registered if c.key in corpus.retranslations]
            ret = rng.sample(ret, min(args.pages, len(ret)))
            pages = make_retranslation_pages(ret, corpus.retranslations, rng)
            verdicts: dict[str, int] = defaultdict(int)
            for page in pages:
                ident = jw.identify(page.html, page.page_id)
                mine = [m for m in ident.matches if work_to_key.get(m.work_id) == page.truth_key]
                verdicts[mine[0].verdict.value if mine else "none"] += 1
            results["retranslation"] = dict(verdicts, pages=len(pages))
        results["families"] = {f: _family_json(fr) for f, fr in fams.items()}
        if args.stages:
            results["stages_ms_per_page"] = _stages(jw, every_page)
        results["char_by_language"] = _by_language(fams)
        results["pages_per_second_per_core"] = n_pages / max(ours_cpu, 1e-9)
        results["baseline_pages_per_second_per_core"] = n_pages / max(base_cpu, 1e-9)
        results["speed_ratio"] = base_cpu / max(ours_cpu, 1e-9)
        jw.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def _score_page(
    fr: FamilyResult,
    page: Page,
    matches: tuple[Any, ...],
    base_found: list[str],
    work_to_key: dict[str, str],
    by_key: dict[str, Chapter],
    text: str,
) -> str:
    """Tally one page; returns "fp" or "miss" when Jianwang got it wrong, else ""."""
    hits = [m for m in matches if m.verdict == Verdict.MATCH]
    keys = [work_to_key.get(m.work_id, "?") for m in hits]
    if page.truth_key is None:
        fr.negatives += 1
        fr.fp_negative_pages += bool(hits)
        fr.review_negative_pages += any(m.verdict == Verdict.REVIEW for m in matches)
        fr.base_fp_negative_pages += bool(base_found)
        return "fp" if hits else ""
    fr.pages += 1
    fr.tp += page.truth_key in keys
    fr.predicted += len(keys)
    fr.correct_predicted += keys.count(page.truth_key)
    fr.base_tp += page.truth_key in base_found
    fr.base_predicted += len(base_found)
    fr.base_correct_predicted += base_found.count(page.truth_key)
    if page.truth_key not in keys and len(fr.misses) < 5:
        fr.misses.append(page.page_id)
    idx = fr.pages
    fr.langs[idx] = by_key[page.truth_key].lang
    ref = by_key[page.truth_key].text
    for c in page_cases(page, text, ref):
        fr.cases.append((idx, c.page_start, c.page_end, c.ref_start, c.ref_end))
    for m in hits:
        if work_to_key.get(m.work_id) != page.truth_key:
            continue
        for s in m.segments:
            fr.detections.append(
                (idx, int(s.query[0]), int(s.query[1]), int(s.reference[0]), int(s.reference[1]))
            )
    return "" if page.truth_key in keys else "miss"


def _stages(jw: Jianwang, pages: list[Page]) -> dict[str, float]:
    """Milliseconds per page in each identification stage (a second, timed pass)."""
    from bench.text.stages import timed_stages

    with timed_stages() as spent:
        t0 = time.perf_counter()
        for page in pages:
            jw.identify(page.html, page.page_id)
        total = time.perf_counter() - t0
    out = {"identify (total)": 1000 * total / len(pages)}
    out.update({k: 1000 * v / len(pages) for k, v in spent.items()})
    return out


def _by_language(fams: dict[str, FamilyResult]) -> dict[str, Any]:
    """Character-level metrics over all families, per language ("zh" joins both scripts)."""
    cases: dict[str, list[tuple[int, int, int, int, int]]] = defaultdict(list)
    dets: dict[str, list[tuple[int, int, int, int, int]]] = defaultdict(list)
    for n, fr in enumerate(fams.values()):
        for rows, out in ((fr.cases, cases), (fr.detections, dets)):
            for idx, *rest in rows:
                lang = fr.langs[idx].split("-")[0]
                out[lang].append((n * 1_000_000 + idx, *rest))  # type: ignore[arg-type]
    return {lang: char_metrics(cases[lang], dets[lang]) for lang in sorted(cases)}


def _family_json(fr: FamilyResult) -> dict[str, Any]:
    cm = char_metrics(fr.cases, fr.detections)
    return {
        "pages": fr.pages,
        "negative_pages": fr.negatives,
        "recall": fr.tp / max(fr.pages, 1),
        "precision": fr.correct_predicted / max(fr.predicted, 1),
        "false_positive_pages": fr.fp_negative_pages,
        "review_on_negative_pages": fr.review_negative_pages,
        "char": cm,
        "baseline_recall": fr.base_tp / max(fr.pages, 1),
        "baseline_precision": fr.base_correct_predicted / max(fr.base_predicted, 1),
        "baseline_false_positive_pages": fr.base_fp_negative_pages,
        "missed_examples": fr.misses,
    }


def _summary(fr: FamilyResult) -> str:
    j = _family_json(fr)
    return (
        f"recall {j['recall']:.3f} prec {j['precision']:.3f} FP {j['false_positive_pages']}/"
        f"{j['negative_pages']} plagdet {j['char']['plagdet']:.3f} | baseline recall "
        f"{j['baseline_recall']:.3f} FP {j['baseline_false_positive_pages']}"
    )


def print_report(r: dict[str, Any]) -> None:
    print(
        f"\nregistered chapters: {r['registered']} (mean {r['mean_chapter_bytes']:.0f} B), "
        f"negative chapters: {r['negative_chapters']}"
    )
    print(
        f"registration: {r['register_seconds']:.1f} s for {r['registered']} chapters "
        f"(baseline MinHash insert {r['baseline_register_seconds']:.1f} s)"
    )
    print(
        f"index bytes per chapter: jianwang {r['index_bytes_per_chapter']:.0f} (plus "
        f"{r['reference_store_bytes_per_chapter']:.0f} in the reference store, a cache of the "
        f"registered texts), baseline {r['baseline_index_bytes_per_chapter']:.0f}"
    )
    head = (
        f"{'family':>13} {'pages':>5} {'recall':>6} {'prec':>6} {'FP':>7} {'rev-neg':>7} "
        f"{'c-prec':>6} {'c-rec':>6} {'gran':>5} {'plagdet':>7} | {'b-rec':>6} {'b-prec':>6} "
        f"{'b-FP':>7}"
    )
    print(head)
    print("-" * len(head))
    for fam, j in r["families"].items():
        c = j["char"]
        print(
            f"{fam:>13} {j['pages']:>5} {j['recall']:>6.3f} {j['precision']:>6.3f} "
            f"{j['false_positive_pages']:>3}/{j['negative_pages']:<3} "
            f"{j['review_on_negative_pages']:>7} {c['precision']:>6.3f} {c['recall']:>6.3f} "
            f"{c['granularity']:>5.2f} {c['plagdet']:>7.3f} | {j['baseline_recall']:>6.3f} "
            f"{j['baseline_precision']:>6.3f} {j['baseline_false_positive_pages']:>3}/"
            f"{j['negative_pages']:<3}"
        )
    for lang, c in r["char_by_language"].items():
        print(
            f"character level, {lang}: precision {c['precision']:.3f} recall {c['recall']:.3f} "
            f"granularity {c['granularity']:.3f} plagdet {c['plagdet']:.3f}"
        )
    for stage, ms in r.get("stages_ms_per_page", {}).items():
        print(f"stage {stage:>20}: {ms:.3f} ms per page")
    if "retranslation" in r:
        print(f"retranslation pages (expected: review): {r['retranslation']}")
    print(
        f"throughput: jianwang {r['pages_per_second_per_core']:.0f} pages/s/core, baseline "
        f"{r['baseline_pages_per_second_per_core']:.0f} pages/s/core, ratio "
        f"{r['speed_ratio']:.2f}x"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny offline run on the bundled corpus")
    p.add_argument("--pages", type=int, default=None, help="positive pages per family")
    p.add_argument("--negatives", type=int, default=None, help="negative pages per family")
    p.add_argument("--limit", type=int, default=None, help="cap registered chapters")
    p.add_argument("--seed", type=int, default=20261128)
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument(
        "--dump", type=Path, default=None, help="write missed and false-positive pages here"
    )
    p.add_argument(
        "--stages", action="store_true", help="afterwards, time each identification stage"
    )
    args = p.parse_args(argv)
    if args.pages is None:
        args.pages = 6 if args.smoke else 150
    if args.negatives is None:
        args.negatives = 3 if args.smoke else 40
    results = run(args)
    print_report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
