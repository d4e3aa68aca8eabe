"""The text method: winnowed token n-grams, span alignment and verification.

Extraction
    `normalize` folds the text to tokens (one per ideograph, one per word). Every run of `K`
    tokens is hashed to 64 bits. A reference keeps only the winnowed hashes (the rightmost
    minimum of every window of `W` hashes; Schleimer et al. 2003), which guarantees that any
    shared run of `W + K - 1` tokens is seen while storing about `2 / (W + 1)` of the hashes.
    A query is winnowed with a smaller window, which keeps every hash that is a window
    minimum on the reference side wherever the copy is intact.

Scoring
    Hits of one reference are chained in query order into spans that stay on (almost) one
    diagonal: a jump of more than `DRIFT` tokens between query and reference (an injected
    advert, a reordered paragraph, a cut) starts a new span, so spans are split at injected
    lines. Spans are then verified token by token against the reference's token stream,
    extended to their true ends (X-drop), and measured in verified matching tokens.

A candidate is a `match` when its long spans verify at least `MATCH_TOKENS` tokens and cover
`MATCH_COVERAGE` of the shorter text, or verify `SURE_TOKENS` tokens whatever the coverage;
it is `review` when shorter spans still share clearly more than chance (re-translations, heavy
rewriting). Thresholds count tokens, not raw characters, so they mean the same thing whatever
the markup, spacing or width of the copy.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel

from ..domain import MediaType, Verdict
from .base import Candidate, Fingerprints, HashKind, Hits, ReferenceLookup, Role, Span, register
from .normalize import TABLE_VERSION, NormText, _core, _mix64, normalize

#: tokens per hashed n-gram
K = 5
#: winnowing window on the reference side (hashes)
W = 16
#: winnowing window on the query side (hashes); see `extract`
W_QUERY = 12
#: most query tokens between two hits of one span
MAX_GAP = 3 * W
#: largest query/reference shift absorbed inside one span, folded characters
DRIFT = 4
#: longest extension of a span beyond its outermost hits, folded characters
MAX_EXTEND = 96
#: longest stretch between two spans that may join them, and how alike it must be
MAX_BRIDGE = 400
BRIDGE_SIMILARITY = 0.6
#: spans shorter than this (tokens) are not reported
MIN_SPAN = 2 * K
#: spans at least this long (tokens) count towards a match
LONG_SPAN = 24
MATCH_TOKENS = 80
MATCH_COVERAGE = 0.08
SURE_TOKENS = 200
REVIEW_TOKENS = 20
REVIEW_COVERAGE = 0.03
#: candidates per query that are aligned in full (by hits on one diagonal band)
MAX_CANDIDATES = 8
#: most chains aligned per reference (bounds the work on degenerate, repetitive inputs)
MAX_CHAINS = 400
#: hits on one diagonal band that make a reference worth aligning
MIN_BAND_HITS = 3
#: a faithful (copied) span: similarity of its folded letters to the reference's
MIN_LETTER_SIMILARITY = 0.95

_P = np.uint64(0x9E3779B97F4A7C15)
#: diagonal offsets to try when chaining a hit, nearest first
_NEAREST_FIRST = sorted(range(-DRIFT, DRIFT + 1), key=abs)


def kgram_hashes(ids: npt.NDArray[np.uint64], k: int = K) -> npt.NDArray[np.uint64]:
    """64-bit hash of every run of `k` consecutive tokens (order-sensitive)."""
    if _core is not None:
        return _core.kgram_hashes(np.ascontiguousarray(ids, dtype=np.uint64), k, int(_P))
    return kgram_hashes_numpy(ids, k)


def kgram_hashes_numpy(ids: npt.NDArray[np.uint64], k: int = K) -> npt.NDArray[np.uint64]:
    """`kgram_hashes` with numpy only."""
    n = ids.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = ids[0:n].copy()
    for t in range(1, k):
        h = h * _P + ids[t : t + n]
    return _mix64(h)


def winnow(hashes: npt.NDArray[np.uint64], w: int = W) -> npt.NDArray[np.int64]:
    """Positions selected by winnowing (see `winnow_numpy`)."""
    if _core is not None:
        return _core.winnow(np.ascontiguousarray(hashes, dtype=np.uint64), w)
    return winnow_numpy(hashes, w)


def winnow_numpy(hashes: npt.NDArray[np.uint64], w: int = W) -> npt.NDArray[np.int64]:
    """Positions selected by winnowing: the minimum of each window of `w` hashes.

    Vectorised: `wmin[i]` is the minimum of window i (w - 1 element-wise minimums), and a
    position is selected when its hash is the minimum of a window containing it. Hashes are
    random 64-bit values, so ties (where robust winnowing would pick the rightmost) do not
    occur in practice."""
    n = hashes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= w:
        return np.asarray([int(np.argmin(hashes))], dtype=np.int64)
    m = n - w + 1
    wmin = hashes[:m].copy()
    for k in range(1, w):
        np.minimum(wmin, hashes[k : k + m], out=wmin)
    sel = np.zeros(n, dtype=bool)
    for k in range(w):
        # window i = j - k contains position j
        sel[k : k + m] |= hashes[k : k + m] == wmin
    return np.flatnonzero(sel)


class TextFingerprinter:
    """Online literature, subtitles, any text: see the module docstring."""

    name = "text"
    version = 100 * TABLE_VERSION + 1
    media = MediaType.TEXT
    hash_kind = HashKind.EXACT64

    def extract(self, signal: Any, role: Role = Role.QUERY) -> Fingerprints:
        norm = signal if isinstance(signal, NormText) else normalize(str(signal))
        grams = kgram_hashes(norm.ids)
        if role == Role.REFERENCE:
            pos = winnow(grams)
            codes = grams[pos]
        else:
            # A reference hash is the minimum of a window of W hashes; in a copy it is also
            # the minimum of every smaller window around it, so winnowing the query with
            # W_QUERY <= W keeps (almost) every hit while looking up far fewer keys.
            pos = winnow(grams, W_QUERY)
            codes = grams[pos]
        return Fingerprints(self.name, self.version, codes, pos.astype(np.uint32), norm)

    def prepare_reference(self, signal: Any) -> TextReference:
        norm = signal if isinstance(signal, NormText) else normalize(str(signal))
        return TextReference(
            norm.folded, norm.fold_start.astype(np.int32), norm.fold_src.astype(np.int32)
        )

    def pack_reference(self, prepared: Any) -> bytes:
        ref: TextReference = prepared
        n, m = ref.fold_start.shape[0], ref.fold_src.shape[0]
        return b"".join(
            (
                _HEADER.pack(n, m),
                ref.fold_start.astype("<i4").tobytes(),
                ref.fold_src.astype("<i4").tobytes(),
                ref.folded.encode("utf-32-le", "surrogatepass"),
            )
        )

    def unpack_reference(self, data: bytes) -> TextReference:
        n, m = _HEADER.unpack_from(data)
        off = _HEADER.size
        fold_start = np.frombuffer(data, dtype="<i4", count=n, offset=off)
        fold_src = np.frombuffer(data, dtype="<i4", count=m, offset=off + 4 * n)
        folded = bytes(data[off + 4 * (n + m) : off + 4 * (n + m) + 4 * m]).decode(
            "utf-32-le", "surrogatepass"
        )
        return TextReference(folded, fold_start, fold_src)

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        qn: NormText = query.data
        if len(hits) == 0:
            return []
        docs = _plausible_docs(hits)
        out: list[tuple[Candidate, list[tuple[int, int]]]] = []
        for doc in docs:
            ref = references(doc)
            if ref is None:
                continue
            # hit order does not matter: chaining sorts by diagonal and query position
            sel = hits.doc == doc
            cand = _align(qn, ref, hits.query_pos[sel], hits.ref_pos[sel], doc)
            if cand is not None:
                out.append(cand)
        return _explain_away(out, len(qn))


# ---------------------------------------------------------------- alignment

_HEADER = struct.Struct("<II")


@dataclass(frozen=True)
class TextReference:
    """What scoring needs of a reference text: its folded characters, where each token
    starts among them (`fold_start`, one more entry than tokens), and the raw character
    offset of each folded character (`fold_src`)."""

    folded: str
    fold_start: npt.NDArray[np.int32]
    fold_src: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.fold_start.shape[0]) - 1


@dataclass
class _Chain:
    """Hits on one (near-)diagonal, in folded-character coordinates (`_chains_numpy`)."""

    q0: int
    q1: int  # exclusive, folded characters
    r0: int
    r1: int
    last_q: int  # token index of the last hit (gaps are bounded in tokens)
    last_qc: int
    last_rc: int
    hits: int = 1


@dataclass
class _Span:
    q0: int
    q1: int
    r0: int
    r1: int
    matched: int
    faithful: bool = True


def _plausible_docs(hits: Hits) -> list[int]:
    """Documents with at least `MIN_BAND_HITS` hits on one diagonal band, best first."""
    if _core is not None:
        return _core.plausible_docs(
            np.ascontiguousarray(hits.doc, dtype=np.uint32),
            np.ascontiguousarray(hits.query_pos, dtype=np.uint32),
            np.ascontiguousarray(hits.ref_pos, dtype=np.uint32),
            2 * DRIFT + 1,
            MIN_BAND_HITS,
            MAX_CANDIDATES,
        )
    return _plausible_docs_numpy(hits)


def _plausible_docs_numpy(hits: Hits) -> list[int]:
    """Documents with at least `MIN_BAND_HITS` hits on one diagonal band, best first.

    Cheap and vectorised: it keeps the expensive alignment for documents that share a run
    of text with the query, not a stray common phrase."""
    band = (hits.ref_pos.astype(np.int64) - hits.query_pos.astype(np.int64)) // (2 * DRIFT + 1)
    key = hits.doc.astype(np.int64) << 32 | (band + (1 << 31))
    uniq, counts = np.unique(key, return_counts=True)
    # a diagonal near a band edge spills into the next band: count both
    same_doc_next = np.append((uniq[1:] - uniq[:-1] == 1), False)
    support = counts + np.where(same_doc_next, np.append(counts[1:], 0), 0)
    docs = (uniq >> 32).astype(np.int64)
    good = support >= MIN_BAND_HITS
    if not good.any():
        return []
    best: dict[int, int] = {}
    for d, sup in zip(docs[good].tolist(), support[good].tolist(), strict=True):
        if sup > best.get(d, 0):
            best[d] = sup
    ranked = sorted(best, key=lambda d: -best[d])
    return ranked[:MAX_CANDIDATES]


def _align(
    qn: NormText,
    rn: TextReference,
    qpos: npt.NDArray[np.uint32],
    rpos: npt.NDArray[np.uint32],
    doc: int,
) -> tuple[Candidate, list[tuple[int, int]]] | None:
    """Align one reference: the candidate, and the query token intervals its faithful long
    spans explain.

    Alignment runs on the *folded characters* (letters and digits after normalisation, no
    separators): a copy that adds spaces inside words, or merges them, stays on one diagonal
    there, while an injected line, a cut or a rewording moves off it."""
    qf, rf = qn.folded, rn.folded
    nq, nr = len(qn), len(rn)
    qfs = np.ascontiguousarray(qn.fold_start, dtype=np.int64)
    rfs = np.ascontiguousarray(rn.fold_start, dtype=np.int64)
    qp = np.ascontiguousarray(qpos, dtype=np.uint32)
    rp = np.ascontiguousarray(rpos, dtype=np.uint32)
    if _core is not None:
        found = _core.chains(qp, rp, qfs, rfs, K, MAX_GAP, DRIFT)
    else:
        found = _chains_numpy(qp, rp, qfs, rfs)
    if not found:
        return None
    if any(f[4] > 1 for f in found):
        # a lone n-gram shared with a reference that also shares real passages is noise
        found = [f for f in found if f[4] > 1]
    if len(found) > MAX_CHAINS:
        # degenerate inputs (a text repeating one line thousands of times) stay bounded
        found = sorted(found, key=lambda f: -f[4])[:MAX_CHAINS]
    spans: list[_Span] = []
    for q0, q1, r0, r1, _hits in found:
        left = _extend(qf, rf, q0 - 1, r0 - 1, -1)
        right = _extend(qf, rf, q1, r1, +1)
        spans.append(
            _Span(
                q0 - left[0],
                q1 + right[0],
                r0 - left[0],
                r1 + right[0],
                q1 - q0 + left[1] + right[1],
            )
        )
    spans = _bridge(_merge_diagonal(_drop_overlaps(spans), qf, rf), qf, rf)
    reported: list[tuple[_Span, int, int, int]] = []  # span, token start, token end, tokens matched
    for s in spans:
        t0 = int(np.searchsorted(qfs, s.q0, side="right")) - 1
        t1 = int(np.searchsorted(qfs, s.q1, side="left"))
        ntok = t1 - t0
        if ntok < MIN_SPAN:
            continue
        qtext, rtext = qf[s.q0 : s.q1], rf[s.r0 : s.r1]
        # equal characters in the best alignment (longest common subsequence); a copy keeps
        # the wording letter for letter (after folding: look-alikes, OCR confusions and
        # spaces inside words are gone), a re-translation or a rewrite does not
        size = len(qtext) + len(rtext)
        if qtext == rtext:
            s.matched, s.faithful = len(qtext), True
        else:
            # bounded: past the distance a faithful copy may have, the exact value is not
            # needed, and the banded computation is much cheaper than the full one
            bound = int((1 - MIN_LETTER_SIMILARITY) * size) + 1
            dist = Indel.distance(qtext, rtext, score_cutoff=bound)
            if dist <= bound and 2 * (size - dist) // 2 >= MIN_LETTER_SIMILARITY * size:
                s.matched, s.faithful = (size - dist) // 2, True
            else:
                # not a copy of the wording: the full distance tells how much is shared
                s.matched = (size - Indel.distance(qtext, rtext)) // 2
                s.faithful = False
        reported.append((s, t0, t1, round(ntok * s.matched / max(1, len(qtext)))))
    if not reported:
        return None
    # spans of a self-repeating reference may cover the same query tokens: count each once
    long = [(t0, t1, m) for s, t0, t1, m in reported if t1 - t0 >= LONG_SPAN and s.faithful]
    matched = min(sum(m for *_, m in reported), _union([(a, b) for _, a, b, _ in reported]))
    long_matched = min(sum(m for *_, m in long), _union([(a, b) for a, b, _ in long]))
    shorter = max(1, min(nq, nr))
    coverage = min(1.0, matched / shorter)
    if long_matched >= SURE_TOKENS or (
        long_matched >= MATCH_TOKENS and long_matched / shorter >= MATCH_COVERAGE
    ):
        verdict = Verdict.MATCH
    elif matched >= REVIEW_TOKENS or coverage >= REVIEW_COVERAGE:
        verdict = Verdict.REVIEW
    else:
        return None
    reported.sort(key=lambda x: (x[0].q0, x[0].r0))
    out_spans = tuple(
        Span(
            float(qn.fold_src[s.q0]),
            float(qn.fold_src[s.q1 - 1] + 1),
            float(rn.fold_src[s.r0]),
            float(rn.fold_src[s.r1 - 1] + 1),
        )
        for s, _, _, _ in reported
    )
    cand = Candidate(
        doc=doc,
        score=coverage,
        verdict=verdict,
        spans=out_spans,
        evidence={
            "matched_tokens": float(matched),
            "long_matched_tokens": float(long_matched),
            "query_tokens": float(nq),
            "reference_tokens": float(nr),
        },
    )
    explained = [(t0, t1) for s, t0, t1, _ in reported if s.faithful and t1 - t0 >= LONG_SPAN]
    return cand, explained


def _merge_diagonal(spans: list[_Span], qf: str, rf: str) -> list[_Span]:
    """Join spans on one diagonal that touch, or whose gap agrees letter for letter at least
    half the time (substitutions keep the diagonal)."""
    spans.sort(key=lambda s: (s.r0 - s.q0, s.q0))
    out: list[_Span] = []
    for s in spans:
        if out:
            p = out[-1]
            d = p.r0 - p.q0
            gap = s.q0 - p.q1
            if abs((s.r0 - s.q0) - d) <= DRIFT and gap <= MAX_EXTEND and s.r0 - p.r1 <= MAX_EXTEND:
                bridge = 0
                if gap > 0:
                    bridge = _count_equal(qf, rf, p.q1, s.q0, d)
                if gap <= 1 or bridge >= 0.5 * gap:
                    overlap = max(0, p.q1 - s.q0)
                    out[-1] = _Span(
                        p.q0,
                        max(p.q1, s.q1),
                        p.r0,
                        max(p.r1, s.r1),
                        p.matched + s.matched - overlap + bridge,
                    )
                    continue
        out.append(s)
    return out


def _chains_numpy(
    qpos: npt.NDArray[np.uint32],
    rpos: npt.NDArray[np.uint32],
    qfs: npt.NDArray[np.int64],
    rfs: npt.NDArray[np.int64],
) -> list[tuple[int, int, int, int, int]]:
    """Chains of hits along (near-)diagonals, in folded-character coordinates:
    (q0, q1, r0, r1, hits) each; the reference for the compiled `_core.chains`."""
    nq, nr = qfs.shape[0] - 1, rfs.shape[0] - 1
    ok = (rpos.astype(np.int64) + K <= nr) & (qpos.astype(np.int64) + K <= nq)
    q = qpos[ok].astype(np.int64)
    r = rpos[ok].astype(np.int64)
    if q.shape[0] == 0:
        return []
    qc, rc = qfs[q].astype(np.int64), rfs[r].astype(np.int64)
    qce, rce = qfs[q + K].astype(np.int64), rfs[r + K].astype(np.int64)
    # Chains: runs of hits on one exact diagonal, in query order, with bounded gaps
    # (vectorised); near diagonals (a letter dropped or doubled) are joined afterwards.
    d = rc - qc
    order = np.lexsort((q, d))
    q, d, qc, rc, qce, rce = q[order], d[order], qc[order], rc[order], qce[order], rce[order]
    brk = np.ones(q.shape[0], dtype=bool)
    brk[1:] = (d[1:] != d[:-1]) | (q[1:] - q[:-1] > MAX_GAP) | (q[1:] == q[:-1])
    starts = np.flatnonzero(brk)
    hits = np.diff(np.append(starts, q.shape[0]))
    ends = np.append(starts[1:], q.shape[0]) - 1
    runs = sorted(
        zip(
            q[starts].tolist(),
            q[ends].tolist(),
            qc[starts].tolist(),
            qc[ends].tolist(),
            rc[starts].tolist(),
            rc[ends].tolist(),
            np.maximum.reduceat(qce, starts).tolist(),
            np.maximum.reduceat(rce, starts).tolist(),
            hits.tolist(),
            strict=True,
        )
    )
    # join runs whose diagonals differ by a few letters (OCR's "cl" for "d", a dropped
    # character) when they follow each other closely: nearest diagonal first
    chains: list[_Chain] = []
    by_diag: dict[int, _Chain] = {}
    for fq, lq, fqc, lqc, frc, lrc, q1, r1, h in runs:
        dd0 = frc - fqc
        target: _Chain | None = None
        for dd in _NEAREST_FIRST:
            c = by_diag.get(dd0 + dd)
            if c is not None and 0 < fq - c.last_q <= MAX_GAP and frc > c.last_rc:
                target = c
                break
        if target is None:
            c = _Chain(fqc, q1, frc, r1, lq, lqc, lrc, h)
            chains.append(c)
        else:
            c = target
            old = c.last_rc - c.last_qc
            if by_diag.get(old) is c:
                del by_diag[old]
            c.q1, c.r1 = max(c.q1, q1), max(c.r1, r1)
            c.last_q, c.last_qc, c.last_rc = lq, lqc, lrc
            c.hits += h
        by_diag[c.last_rc - c.last_qc] = c
    return [(c.q0, c.q1, c.r0, c.r1, c.hits) for c in chains]


def _count_equal(qf: str, rf: str, start: int, stop: int, offset: int) -> int:
    """How many i in [start, stop) have qf[i] == rf[i + offset]."""
    if _core is not None:
        return _core.count_equal(qf, rf, start, stop, offset)
    return sum(
        1
        for x, y in zip(qf[start:stop], rf[start + offset : stop + offset], strict=False)
        if x == y
    )


def _bridge(spans: list[_Span], qf: str, rf: str) -> list[_Span]:
    """Join consecutive spans when the stretch between them still agrees letter for letter up
    to small edits (one copied run that dense OCR errors or winnowing cut in pieces). An
    injected line, a cut or a reordered paragraph leaves a gap that does not agree, and is
    never bridged."""
    spans.sort(key=lambda s: (s.q0, s.r0))
    out: list[_Span] = []
    for s in spans:
        if out:
            p = out[-1]
            qgap, rgap = s.q0 - p.q1, s.r0 - p.r1
            if -DRIFT <= rgap <= MAX_BRIDGE and -DRIFT <= qgap <= MAX_BRIDGE:
                a, b = qf[p.q1 : max(p.q1, s.q0)], rf[p.r1 : max(p.r1, s.r0)]
                close = abs(qgap - rgap) <= DRIFT and max(qgap, rgap) <= DRIFT
                if close or Indel.normalized_similarity(a, b) >= BRIDGE_SIMILARITY:
                    common = (len(a) + len(b) - Indel.distance(a, b)) // 2
                    overlap = max(0, -qgap)
                    out[-1] = _Span(
                        p.q0,
                        max(p.q1, s.q1),
                        p.r0,
                        max(p.r1, s.r1),
                        p.matched + s.matched - overlap + common,
                    )
                    continue
        out.append(s)
    return out


def _extend(qf: str, rf: str, q: int, r: int, step: int) -> tuple[int, int]:
    """X-drop extension (see `_extend_python`)."""
    if _core is not None:
        return _core.extend(qf, rf, q, r, step, MAX_EXTEND)
    return _extend_python(qf, rf, q, r, step)


def _extend_python(qf: str, rf: str, q: int, r: int, step: int) -> tuple[int, int]:
    """X-drop extension over folded characters from (q, r) in direction `step`:
    (characters to add, equal characters among them)."""
    best = cur = 0
    best_len = best_matches = matches = 0
    length = 0
    nq, nr = len(qf), len(rf)
    while 0 <= q < nq and 0 <= r < nr and length < MAX_EXTEND:
        length += 1
        if qf[q] == rf[r]:
            cur += 1
            matches += 1
            if cur > best:
                best, best_len, best_matches = cur, length, matches
        else:
            cur -= 3
            if best - cur > 6:
                break
        q += step
        r += step
    return best_len, best_matches


def _union(intervals: list[tuple[int, int]]) -> int:
    """Length of the union of [start, end) intervals."""
    total, reach = 0, -1
    for a, b in sorted(intervals):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def _drop_overlaps(spans: list[_Span]) -> list[_Span]:
    """Keep the better of two off-diagonal spans that cover the same query tokens (text that
    the reference repeats)."""
    spans = sorted(spans, key=lambda s: -s.matched)
    kept: list[_Span] = []
    for s in spans:
        clash = False
        for t in kept:
            if abs((s.r0 - s.q0) - (t.r0 - t.q0)) <= DRIFT:
                continue  # same diagonal: merged later
            overlap = min(s.q1, t.q1) - max(s.q0, t.q0)
            if overlap > 0.5 * (s.q1 - s.q0):
                clash = True
                break
        if not clash:
            kept.append(s)
    return kept


def _explain_away(
    aligned: list[tuple[Candidate, list[tuple[int, int]]]], nq: int
) -> list[Candidate]:
    """Attribute each query passage to the reference that explains it best.

    Candidates are taken best first; a later `match` whose long spans add fewer than
    `MATCH_TOKENS` query tokens not already explained by an earlier match, and that covers
    clearly less than it, becomes `review` (text that several references share, such as a
    refrain or a hymn repeated in two collections). Identical references tie and both stay."""
    # best explanation first; among nearly equal ones (within 2 %), the one that needs the
    # fewest segments: a text that repeats itself (a genealogy, a litany) is explained by
    # many references in pieces, but by its source in one run
    top = max((c.evidence["long_matched_tokens"] for c, _ in aligned), default=0.0) or 1.0
    aligned.sort(
        key=lambda p: (
            p[0].verdict != Verdict.MATCH,
            -round(50 * p[0].evidence["long_matched_tokens"] / top),
            len(p[0].spans),
        )
    )
    covered = np.zeros(nq + 1, dtype=bool)
    best_long = 0.0
    out: list[Candidate] = []
    for c, intervals in aligned:
        if c.verdict == Verdict.MATCH:
            novel = sum(int((~covered[a:b]).sum()) for a, b in intervals)
            tie = c.evidence["long_matched_tokens"] >= 0.9 * best_long
            if best_long and novel < MATCH_TOKENS and not tie:
                c = Candidate(c.doc, c.score, Verdict.REVIEW, c.spans, c.evidence)
            else:
                for a, b in intervals:
                    covered[a:b] = True
                best_long = max(best_long, c.evidence["long_matched_tokens"])
        out.append(c)
    out.sort(key=lambda c: (c.verdict != Verdict.MATCH, -c.score))
    return out


register(TextFingerprinter())
