# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled twins of the text method's hot loops.

Each function computes exactly what its numpy counterpart in `normalize.py`, `text.py` or
`index/exact.py` computes (tests compare them on random and real inputs); numpy pays about a
microsecond per call on arrays of a few thousand elements, which made those stages cost more
than their arithmetic. The numpy versions stay as the fallback when this module is not built.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

cdef enum:
    SEPARATOR = 0
    TRANSPARENT = 1
    IDEO = 2
    WORD = 3
    MULTI = 4


cdef inline uint64_t _mix(uint64_t x) nogil:
    x = x ^ (x >> 30)
    x = x * 0xBF58476D1CE4E5B9ULL
    x = x ^ (x >> 27)
    x = x * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


def normalize_bmp(
    str text,
    const uint32_t[::1] packed,
    const uint32_t[::1] code2,
    const uint8_t[::1] kind1,
    const uint8_t[::1] kind2,
    const uint64_t[::1] pow_,
    const uint32_t[:, ::1] pairs,
):
    """Token stream of `text` when all its characters are in the BMP and fold to at most two
    characters; None when the text needs the general (Python) path. `packed` holds each
    character's folded code (low 24 bits) and kind (high 8 bits): one memory access.

    Returns (ids, start, end, folded codes, fold_start, fold_src) like `normalize`."""
    cdef Py_ssize_t n = len(text), i, j, m, t, p, ntok
    cdef uint32_t cp, c
    cdef uint8_t k
    cdef Py_ssize_t npairs = pairs.shape[0]
    # pass 1: fold characters (pairs expanded), drop transparent ones, find token starts
    cdef uint32_t[::1] tcode = np.empty(2 * n + 1, dtype=np.uint32)
    cdef int64_t[::1] tsrc = np.empty(2 * n + 1, dtype=np.int64)
    cdef uint8_t[::1] tstart = np.empty(2 * n + 1, dtype=np.uint8)
    cdef bint prev_word = False
    m = 0
    for i in range(n):
        cp = text[i]
        if cp >= 0x10000:
            return None
        k = packed[cp] >> 24
        if k == TRANSPARENT:
            continue
        if k == SEPARATOR:
            prev_word = False
            continue
        if k == MULTI:
            if code2[cp] == 0:
                return None
            for j in range(2):
                if j == 0:
                    c = packed[cp] & 0xFFFFFF
                    k = kind1[cp]
                else:
                    c = code2[cp]
                    k = kind2[cp]
                tcode[m] = c
                tsrc[m] = i
                tstart[m] = 1 if (k == IDEO or not prev_word) else 0
                prev_word = k == WORD
                m += 1
            continue
        tcode[m] = packed[cp] & 0xFFFFFF
        tsrc[m] = i
        tstart[m] = 1 if (k == IDEO or not prev_word) else 0
        prev_word = k == WORD
        m += 1
    # pass 2: OCR letter pairs, pattern by pattern, matched against the unchanged codes
    cdef uint8_t[::1] drop = np.zeros(m + 1, dtype=np.uint8)
    cdef uint32_t[::1] orig = np.empty(m + 1, dtype=np.uint32)
    cdef Py_ssize_t[::1] hpos = np.empty(m + 1, dtype=np.intp)
    cdef Py_ssize_t nh, h
    cdef uint32_t first, second, single
    cdef bint changed = False
    for i in range(m):
        orig[i] = tcode[i]
    for p in range(npairs):
        first = pairs[p, 0]
        second = pairs[p, 1]
        single = pairs[p, 2]
        nh = 0
        for i in range(m - 1):
            if orig[i] == first and orig[i + 1] == second and not drop[i]:
                hpos[nh] = i
                nh += 1
        for h in range(nh):
            i = hpos[h]
            tcode[i] = single
            drop[i + 1] = 1
            changed = True
    if changed:
        # a dropped character that began a token hands the beginning to its successor
        # (backwards, so that an inherited beginning is not passed on again, as in numpy)
        for i in range(m - 2, -1, -1):
            if drop[i] and tstart[i]:
                tstart[i + 1] = 1
        j = 0
        for i in range(m):
            if not drop[i]:
                tcode[j] = tcode[i]
                tsrc[j] = tsrc[i]
                tstart[j] = tstart[i]
                j += 1
        m = j
    # pass 3: token ids, offsets
    ntok = 0
    for i in range(m):
        if tstart[i]:
            ntok += 1
    ids = np.empty(ntok, dtype=np.uint64)
    start = np.empty(ntok, dtype=np.int64)
    end = np.empty(ntok, dtype=np.int64)
    fold_start = np.empty(ntok + 1, dtype=np.int64)
    cdef uint64_t[::1] vids = ids
    cdef int64_t[::1] vstart = start, vend = end, vfs = fold_start
    cdef uint64_t acc = 0
    cdef Py_ssize_t rel = 0
    t = -1
    for i in range(m):
        if tstart[i]:
            if t >= 0:
                vids[t] = _mix(acc ^ (<uint64_t>rel << 56))
                vend[t] = tsrc[i - 1] + 1
            t += 1
            acc = 0
            rel = 0
            vstart[t] = tsrc[i]
            vfs[t] = i
        acc = acc + (<uint64_t>tcode[i]) * pow_[rel if rel < 255 else 255]
        rel += 1
    if t >= 0:
        vids[t] = _mix(acc ^ (<uint64_t>rel << 56))
        vend[t] = tsrc[m - 1] + 1
    vfs[ntok] = m
    folded = np.asarray(tcode[:m]).copy()
    fold_src = np.asarray(tsrc[:m]).copy()
    return ids, start, end, folded, fold_start, fold_src


def kgram_hashes(const uint64_t[::1] ids, int k, uint64_t p):
    """64-bit hash of every run of `k` consecutive tokens, as `text.kgram_hashes`."""
    cdef Py_ssize_t n = ids.shape[0] - k + 1, i, t
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    cdef uint64_t h
    for i in range(n):
        h = ids[i]
        for t in range(1, k):
            h = h * p + ids[i + t]
        o[i] = _mix(h)
    return out


def winnow(const uint64_t[::1] hashes, int w):
    """Positions whose hash is the minimum of a window of `w` containing them, as
    `text.winnow` (every tie included). Sliding-window minimum with a monotone queue: O(n)."""
    cdef Py_ssize_t n = hashes.shape[0], i, best, head = 0, tail = 0, k
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= w:
        best = 0
        for i in range(1, n):
            if hashes[i] < hashes[best]:
                best = i
        return np.asarray([best], dtype=np.int64)
    sel_arr = np.zeros(n, dtype=np.uint8)
    cdef uint8_t[::1] sel = sel_arr
    cdef Py_ssize_t[::1] dq = np.empty(n, dtype=np.intp)
    cdef uint64_t lo
    for i in range(n):
        # keep equal values: every position holding a window's minimum is selected
        while tail > head and hashes[dq[tail - 1]] > hashes[i]:
            tail -= 1
        dq[tail] = i
        tail += 1
        if dq[head] <= i - w:
            head += 1
        if i >= w - 1:
            lo = hashes[dq[head]]
            k = head
            while k < tail and hashes[dq[k]] == lo:
                sel[dq[k]] = 1
                k += 1
    return np.flatnonzero(sel_arr)


ctypedef fused key_t:
    uint32_t
    uint64_t


def lookup_segment(
    const key_t[::1] keys, const uint32_t[:, ::1] post, const key_t[::1] needles,
    Py_ssize_t max_postings, const key_t[::1] fences, Py_ssize_t stride,
):
    """Postings of every needle in one sorted segment, as `ExactIndex.lookup` does per
    segment: (needle index, doc, position) arrays; needles with more than `max_postings`
    postings are skipped. `fences` is every `stride`-th key: searching it first keeps the
    binary search in cache (the keys of a large segment are not)."""
    cdef Py_ssize_t nk = keys.shape[0], nn = needles.shape[0], nf = fences.shape[0]
    cdef Py_ssize_t i, lo, hi, mid, cnt, total, b
    cdef key_t x
    cdef Py_ssize_t[::1] first = np.empty(nn, dtype=np.intp)
    cdef Py_ssize_t[::1] count = np.zeros(nn, dtype=np.intp)
    total = 0
    for i in range(nn):
        x = needles[i]
        # first fence >= x, then the block before it holds the first occurrence of x
        lo = 0
        hi = nf
        while lo < hi:
            mid = (lo + hi) >> 1
            if fences[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        b = lo - 1 if lo > 0 else 0
        lo = b * stride
        hi = (b + 1) * stride + 1
        if hi > nk:
            hi = nk
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        cnt = 0
        while lo + cnt < nk and keys[lo + cnt] == x and cnt <= max_postings:
            cnt += 1
        if 0 < cnt <= max_postings:
            first[i] = lo
            count[i] = cnt
            total += cnt
    q = np.empty(total, dtype=np.uint32)
    d = np.empty(total, dtype=np.uint32)
    pos = np.empty(total, dtype=np.uint32)
    cdef uint32_t[::1] vq = q, vd = d, vp = pos
    cdef Py_ssize_t o = 0, r
    for i in range(nn):
        for r in range(first[i], first[i] + count[i]):
            vq[o] = i
            vd[o] = post[r, 0]
            vp[o] = post[r, 1]
            o += 1
    return q, d, pos


def plausible_docs(
    const uint32_t[::1] doc, const uint32_t[::1] qpos, const uint32_t[::1] rpos,
    int64_t band_width, Py_ssize_t min_hits, Py_ssize_t max_docs,
):
    """Documents with at least `min_hits` hits on one diagonal band (a band and the next one
    counted together), best first, as `text._plausible_docs`."""
    cdef Py_ssize_t n = doc.shape[0], i, run_start, nruns
    cdef int64_t diff, band
    keys_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] keys = keys_arr
    for i in range(n):
        diff = <int64_t>rpos[i] - <int64_t>qpos[i]
        band = diff // band_width
        if (diff % band_width != 0) and ((diff < 0) != (band_width < 0)):
            band -= 1  # floor division, as numpy does for negative diagonals
        keys[i] = (<int64_t>doc[i] << 32) | (band + (<int64_t>1 << 31))
    keys_arr.sort()
    # runs of equal keys
    run_key_arr = np.empty(n, dtype=np.int64)
    run_cnt_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] run_key = run_key_arr, run_cnt = run_cnt_arr
    nruns = 0
    i = 0
    while i < n:
        run_start = i
        while i < n and keys[i] == keys[run_start]:
            i += 1
        run_key[nruns] = keys[run_start]
        run_cnt[nruns] = i - run_start
        nruns += 1
    best = {}
    cdef int64_t support, d
    for i in range(nruns):
        support = run_cnt[i]
        if i + 1 < nruns and run_key[i + 1] - run_key[i] == 1:
            support += run_cnt[i + 1]
        if support >= min_hits:
            d = run_key[i] >> 32
            if support > best.get(d, 0):
                best[d] = support
    ranked = sorted(best, key=lambda x: -best[x])
    return ranked[:max_docs]


def chains(
    const uint32_t[::1] qpos, const uint32_t[::1] rpos,
    const int64_t[::1] qfs, const int64_t[::1] rfs,
    Py_ssize_t k, int64_t max_gap, int64_t drift,
):
    """Chains of hits along (near-)diagonals in folded-character coordinates, as
    `text._chains_numpy`: a list of (q0, q1, r0, r1, hits)."""
    cdef Py_ssize_t n = qpos.shape[0], nq = qfs.shape[0] - 1, nr = rfs.shape[0] - 1
    cdef Py_ssize_t i, j, m = 0, s, e, nruns
    q_arr = np.empty(n, dtype=np.int64)
    d_arr = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] q = q_arr, d = d_arr
    cdef int64_t[::1] qc = np.empty(n, dtype=np.int64), rc = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] qce = np.empty(n, dtype=np.int64), rce = np.empty(n, dtype=np.int64)
    for i in range(n):
        if rpos[i] + k > nr or qpos[i] + k > nq:
            continue
        q[m] = qpos[i]
        qc[m] = qfs[qpos[i]]
        rc[m] = rfs[rpos[i]]
        qce[m] = qfs[qpos[i] + k]
        rce[m] = rfs[rpos[i] + k]
        d[m] = rc[m] - qc[m]
        m += 1
    if m == 0:
        return []
    cdef Py_ssize_t[::1] order = np.lexsort((q_arr[:m], d_arr[:m]))
    runs = []
    cdef int64_t q1, r1
    i = 0
    while i < m:
        s = order[i]
        e = s
        q1 = qce[s]
        r1 = rce[s]
        j = i + 1
        while j < m:
            if d[order[j]] != d[e] or q[order[j]] - q[e] > max_gap or q[order[j]] == q[e]:
                break
            e = order[j]
            if qce[e] > q1:
                q1 = qce[e]
            if rce[e] > r1:
                r1 = rce[e]
            j += 1
        runs.append((q[s], q[e], qc[s], qc[e], rc[s], rc[e], q1, r1, j - i))
        i = j
    runs.sort()
    # join runs whose diagonals differ by at most `drift`, nearest diagonal first
    nruns = len(runs)
    cdef int64_t[:, ::1] ch = np.empty((nruns, 8), dtype=np.int64)
    cdef Py_ssize_t nch = 0, t, target
    cdef int64_t fq, lq, fqc, lqc, frc, lrc, rq1, rr1, h, dd0, dd, old
    by_diag = {}
    nearest = [0]
    for t in range(1, drift + 1):
        nearest.append(-t)
        nearest.append(t)
    for run in runs:
        fq, lq, fqc, lqc, frc, lrc, rq1, rr1, h = run
        dd0 = frc - fqc
        target = -1
        for dd in nearest:
            c = by_diag.get(dd0 + dd)
            if c is not None:
                t = c
                if 0 < fq - ch[t, 4] <= max_gap and frc > ch[t, 6]:
                    target = t
                    break
        if target < 0:
            t = nch
            nch += 1
            ch[t, 0] = fqc
            ch[t, 1] = rq1
            ch[t, 2] = frc
            ch[t, 3] = rr1
            ch[t, 7] = h
        else:
            t = target
            old = ch[t, 6] - ch[t, 5]
            if by_diag.get(old) == t:
                del by_diag[old]
            if rq1 > ch[t, 1]:
                ch[t, 1] = rq1
            if rr1 > ch[t, 3]:
                ch[t, 3] = rr1
            ch[t, 7] += h
        ch[t, 4] = lq
        ch[t, 5] = lqc
        ch[t, 6] = lrc
        by_diag[ch[t, 6] - ch[t, 5]] = t
    return [(ch[t, 0], ch[t, 1], ch[t, 2], ch[t, 3], ch[t, 7]) for t in range(nch)]


def extend(str qf, str rf, Py_ssize_t q, Py_ssize_t r, Py_ssize_t step, Py_ssize_t max_len):
    """X-drop extension over folded characters, as `text._extend_python`:
    (characters to add, equal characters among them)."""
    cdef Py_ssize_t nq = len(qf), nr = len(rf)
    cdef Py_ssize_t best = 0, cur = 0, best_len = 0, best_matches = 0, matches = 0, length = 0
    cdef Py_UCS4 a, b
    while 0 <= q < nq and 0 <= r < nr and length < max_len:
        length += 1
        a = qf[q]
        b = rf[r]
        if a == b:
            cur += 1
            matches += 1
            if cur > best:
                best = cur
                best_len = length
                best_matches = matches
        else:
            cur -= 3
            if best - cur > 6:
                break
        q += step
        r += step
    return best_len, best_matches


def count_equal(str qf, str rf, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t offset):
    """How many i in [start, stop) have qf[i] == rf[i + offset] (pairs past either end are
    not counted), as the zip in `text._merge_diagonal`."""
    cdef Py_ssize_t nq = len(qf), nr = len(rf), i, n = 0
    if stop > nq:
        stop = nq
    for i in range(start, stop):
        if i + offset >= nr:
            break
        if i + offset >= 0 and qf[i] == rf[i + offset]:
            n += 1
    return n


def local_maxima(const float[:, ::1] mag, const float[:, ::1] floor, int dt, int df):
    """(rows, cols) of the cells of `mag` that no cell within +-dt rows and +-df columns
    exceeds and that exceed `floor` (the same cell of it), borders excluded: what
    `mag == maximum_filter(mag, (2dt+1, 2df+1), mode="nearest")` & `mag > floor` selects,
    in one pass that drops most cells after a comparison or two (the audio method's peaks)."""
    cdef Py_ssize_t n = mag.shape[0], m = mag.shape[1]
    cdef Py_ssize_t i, j, a, b, a0, a1, b0, b1, k = 0, cap = 1024
    cdef float v
    cdef bint best
    rows = np.empty(cap, dtype=np.int64)
    cols = np.empty(cap, dtype=np.int64)
    cdef int64_t[::1] rv = rows
    cdef int64_t[::1] cv = cols
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            v = mag[i, j]
            if v <= floor[i, j]:
                continue
            # the immediate neighbours first: they reject most cells
            if (mag[i, j - 1] > v or mag[i, j + 1] > v or mag[i - 1, j] > v
                    or mag[i + 1, j] > v):
                continue
            a0 = i - dt if i >= dt else 0
            a1 = i + dt if i + dt < n else n - 1
            b0 = j - df if j >= df else 0
            b1 = j + df if j + df < m else m - 1
            best = True
            for a in range(a0, a1 + 1):
                for b in range(b0, b1 + 1):
                    if mag[a, b] > v:
                        best = False
                        break
                if not best:
                    break
            if best:
                if k == cap:
                    cap *= 2
                    rows = np.resize(rows, cap)
                    cols = np.resize(cols, cap)
                    rv = rows
                    cv = cols
                rv[k] = i
                cv[k] = j
                k += 1
    return rows[:k], cols[:k]


def onset_emphasis(
    const float[:, ::1] mag, const float[::1] x0, const float[::1] y0, float pole, float mix
):
    """Per column of `mag` (rows are frames): y[t] = pole * y[t-1] + mag[t] - mag[t-1], started
    from the frame before the first (level x0, output y0); returns ((1 - mix) * mag + mix * y, y)
    in float32, what `audio.onset_emphasis_numpy` computes with scipy's `lfilter`."""
    cdef Py_ssize_t n = mag.shape[0], m = mag.shape[1], i, j
    out_arr = np.empty((n, m), dtype=np.float32)
    y_arr = np.empty((n, m), dtype=np.float32)
    cdef float[:, ::1] out = out_arr
    cdef float[:, ::1] y = y_arr
    cdef float a = 1.0 - mix, yp, d
    for j in range(m):
        yp = y0[j]
        d = mag[0, j] - x0[j]
        yp = d + pole * yp
        y[0, j] = yp
    for i in range(1, n):
        for j in range(m):
            d = mag[i, j] - mag[i - 1, j]
            y[i, j] = d + pole * y[i - 1, j]
    for i in range(n):
        for j in range(m):
            out[i, j] = a * mag[i, j] + mix * y[i, j]
    return out_arr, y_arr


def gear_candidates(const uint8_t[::1] data, const uint32_t[::1] gear, uint32_t mask):
    """Positions after which the file method's gear hash (h = 2h + gear[byte], 32 bits: the
    last 32 bytes) has the bits of `mask` zero, as int64 (a cut after byte i is i + 1). The
    numpy twin computes the same hash by doubling, a block at a time."""
    cdef Py_ssize_t n = data.shape[0], i, k = 0
    cdef uint32_t h = 0
    out = np.empty(n // 1024 + 16, dtype=np.int64)
    cdef int64_t[::1] o = out
    with nogil:
        for i in range(n):
            h = (h << 1) + gear[data[i]]
            if (h & mask) == 0:
                if k == o.shape[0]:
                    with gil:
                        out = np.concatenate([out, np.empty(out.shape[0], dtype=np.int64)])
                        o = out
                o[k] = i + 1
                k += 1
    return out[:k]
