"""The text method: winnowed token n-grams, span alignment and verification.

Extraction
    `normalize` folds the text to tokens (one per ideograph, one per word). Every run of `K`
    tokens is hashed to 64 bits. A reference keeps only the winnowed hashes (the rightmost
    minimum of every window of `W` hashes; Schleimer et al. 2003), which guarantees that any
    shared run of `W + K - 1` tokens is seen while storing about `2 / (W + 1)` of the hashes.
    A query keeps every hash, so it meets each stored reference hash it shares.

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

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from ..domain import MediaType, Verdict
from .base import Candidate, Fingerprints, HashKind, Hits, ReferenceLookup, Role, Span, register
from .normalize import TABLE_VERSION, NormText, _mix64, normalize

#: tokens per hashed n-gram
K = 5
#: winnowing window on the reference side (hashes)
W = 16
#: most query tokens between two hits of one span
MAX_GAP = 3 * W
#: largest query/reference shift absorbed inside one span, tokens
DRIFT = 4
#: spans shorter than this (tokens) are not reported
MIN_SPAN = 2 * K
#: spans at least this long (tokens) count towards a match
LONG_SPAN = 24
MATCH_TOKENS = 40
MATCH_COVERAGE = 0.08
SURE_TOKENS = 200
REVIEW_TOKENS = 20
REVIEW_COVERAGE = 0.03
#: candidates per query that are aligned in full (by hit count)
MAX_CANDIDATES = 24

_P = np.uint64(0x9E3779B97F4A7C15)


def kgram_hashes(ids: npt.NDArray[np.uint64], k: int = K) -> npt.NDArray[np.uint64]:
    """64-bit hash of every run of `k` consecutive tokens (order-sensitive)."""
    n = ids.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = ids[0:n].copy()
    for t in range(1, k):
        h = h * _P + ids[t : t + n]
    return _mix64(h)


def winnow(hashes: npt.NDArray[np.uint64], w: int = W) -> npt.NDArray[np.int64]:
    """Positions selected by robust winnowing: the rightmost minimum of each window."""
    n = hashes.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= w:
        rev = hashes[::-1]
        return np.asarray([n - 1 - int(np.argmin(rev))], dtype=np.int64)
    windows = sliding_window_view(hashes, w)[:, ::-1]
    picks = np.arange(windows.shape[0]) + (w - 1 - np.argmin(windows, axis=1))
    return np.unique(picks)


@dataclass
class _Chain:
    q0: int
    q1: int  # exclusive, tokens
    r0: int
    r1: int
    last_q: int
    last_r: int
    matched: int


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
            pos = np.arange(grams.shape[0], dtype=np.int64)
            codes = grams
        return Fingerprints(self.name, self.version, codes, pos.astype(np.uint32), norm)

    def prepare_reference(self, signal: Any) -> NormText:
        return signal if isinstance(signal, NormText) else normalize(str(signal))

    def score(
        self, query: Fingerprints, hits: Hits, references: ReferenceLookup
    ) -> list[Candidate]:
        qn: NormText = query.data
        if len(hits) == 0:
            return []
        docs, counts = np.unique(hits.doc, return_counts=True)
        keep = docs[counts >= 2]
        if keep.shape[0] > MAX_CANDIDATES:
            keep = docs[np.argsort(-counts, kind="stable")[:MAX_CANDIDATES]]
        order = np.lexsort((hits.ref_pos, hits.query_pos, hits.doc))
        d_sorted = hits.doc[order]
        out: list[Candidate] = []
        for doc in keep.tolist():
            lo, hi = np.searchsorted(d_sorted, [doc, doc + 1])
            sel = order[lo:hi]
            ref = references(int(doc))
            if ref is None:
                continue
            cand = self._align(qn, ref, hits.query_pos[sel], hits.ref_pos[sel], int(doc))
            if cand is not None:
                out.append(cand)
        out.sort(key=lambda c: (c.verdict != Verdict.MATCH, -c.score))
        return out

    # ------------------------------------------------------------ alignment

    def _align(
        self,
        qn: NormText,
        rn: NormText,
        qpos: npt.NDArray[np.uint32],
        rpos: npt.NDArray[np.uint32],
        doc: int,
    ) -> Candidate | None:
        qi, ri = qn.ids, rn.ids
        nq, nr = len(qn), len(rn)
        chains: list[_Chain] = []
        for q, r in zip(qpos.tolist(), rpos.tolist(), strict=True):
            if r + K > nr or q + K > nq or not np.array_equal(qi[q : q + K], ri[r : r + K]):
                continue  # hash collision or stale reference
            target = None
            for c in reversed(chains[-8:]):
                dq, dr = q - c.last_q, r - c.last_r
                if 0 < dq <= MAX_GAP and dr > 0 and abs(dq - dr) <= DRIFT:
                    target = c
                    break
            if target is None:
                chains.append(_Chain(q, q + K, r, r + K, q, r, K))
                continue
            c = target
            if q - c.last_q == r - c.last_r:
                # same diagonal: count every equal token between the previous hit and this one
                a, b = c.q1, q + K
                if b > a:
                    off = r - q
                    c.matched += int(np.count_nonzero(qi[a:b] == ri[a + off : b + off]))
            else:
                c.matched += min(K, q + K - c.q1) if q + K > c.q1 else 0
            c.q1 = max(c.q1, q + K)
            c.r1 = max(c.r1, r + K)
            c.last_q, c.last_r = q, r
        if not chains:
            return None
        spans: list[tuple[int, int, int, int, int]] = []
        for c in chains:
            left = _extend(qi, ri, c.q0 - 1, c.r0 - 1, -1)
            right = _extend(qi, ri, c.q1, c.r1, +1)
            q0, r0 = c.q0 - left[0], c.r0 - left[0]
            q1, r1 = c.q1 + right[0], c.r1 + right[0]
            spans.append((q0, q1, r0, r1, c.matched + left[1] + right[1]))
        spans = _drop_overlaps(spans)
        reported = [s for s in spans if s[1] - s[0] >= MIN_SPAN]
        if not reported:
            return None
        matched = sum(s[4] for s in reported)
        long_matched = sum(s[4] for s in reported if s[1] - s[0] >= LONG_SPAN)
        shorter = max(1, min(nq, nr))
        coverage = min(1.0, matched / shorter)
        long_coverage = long_matched / shorter
        if long_matched >= SURE_TOKENS or (
            long_matched >= MATCH_TOKENS and long_coverage >= MATCH_COVERAGE
        ):
            verdict = Verdict.MATCH
        elif matched >= REVIEW_TOKENS or coverage >= REVIEW_COVERAGE:
            verdict = Verdict.REVIEW
        else:
            return None
        reported.sort()
        out_spans = tuple(
            Span(
                float(qn.start[s[0]]),
                float(qn.end[s[1] - 1]),
                float(rn.start[s[2]]),
                float(rn.end[s[3] - 1]),
            )
            for s in reported
        )
        return Candidate(
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


def _extend(
    qi: npt.NDArray[np.uint64], ri: npt.NDArray[np.uint64], q: int, r: int, step: int
) -> tuple[int, int]:
    """X-drop extension from (q, r) in direction `step`: (tokens to add, matching tokens)."""
    best = cur = 0
    best_len = best_matches = matches = 0
    length = 0
    nq, nr = qi.shape[0], ri.shape[0]
    while 0 <= q < nq and 0 <= r < nr and length < MAX_GAP:
        length += 1
        if qi[q] == ri[r]:
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


def _drop_overlaps(
    spans: list[tuple[int, int, int, int, int]],
) -> list[tuple[int, int, int, int, int]]:
    """Keep the better of two spans that cover the same query tokens (repeated text)."""
    spans = sorted(spans, key=lambda s: -s[4])
    kept: list[tuple[int, int, int, int, int]] = []
    for s in spans:
        clash = False
        for t in kept:
            overlap = min(s[1], t[1]) - max(s[0], t[0])
            if overlap > 0.5 * (s[1] - s[0]):
                clash = True
                break
        if not clash:
            kept.append(s)
    return kept


register(TextFingerprinter())
