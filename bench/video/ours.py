"""Jianwang's frame method as the video benchmark runs it: the real decoder, the real method,
the real on-disk Hamming index and reference store, and the same two-pass lookup as
`identify.Identifier` (no SQL store: the harness keeps names itself)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.video.metrics import Found
from jianwang.domain import MediaType, Segment, Verdict
from jianwang.fingerprint.base import Fingerprints, Hits, Role, for_media
from jianwang.fingerprint.keypoints import KeypointFingerprinter
from jianwang.fingerprint.visual import FrameFingerprinter, FrameHashes
from jianwang.fingerprint.windows import WindowFingerprinter
from jianwang.identify import HAMMING_BITS, _hamming_lookup, merge_segments
from jianwang.index.forward import ReferenceStore
from jianwang.index.hamming import HammingIndex
from jianwang.media.video import decode_image, decode_video

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
#: the methods that index a registered video's pictures (padded by `pad`)
VIDEO_METHODS = ("frames", "windows")
#: doc ids of padding start here (never a reference's)
PAD_DOC = 1_000_000


class Jianwang:
    name = "jianwang"

    def __init__(self, workdir: Path, delta_limit: int = 200_000):
        workdir.mkdir(parents=True, exist_ok=True)
        self.root = workdir
        self.method = FrameFingerprinter()
        self.methods: dict[str, tuple[Any, HammingIndex, ReferenceStore]] = {}
        for m in (self.method, WindowFingerprinter(), KeypointFingerprinter()):
            bits = HAMMING_BITS[m.hash_kind]
            self.methods[m.name] = (
                m,
                HammingIndex(workdir / m.name / "index", delta_limit=delta_limit, bits=bits),
                ReferenceStore(workdir / m.name / "references"),
            )
        self.index = self.methods[self.method.name][1]
        self.names: dict[int, str] = {}
        self._refs: dict[tuple[str, int], Any] = {}
        self.codes_registered: dict[str, int] = {}
        self.seconds_registered = 0.0
        #: CPU seconds of `identify` by phase (see there)
        self.phases = {"extract": 0.0, "search": 0.0}

    def _decode(self, path: Path, kind: str | None = None) -> tuple[MediaType, Any]:
        """A reference (`kind` given) or a query (finer frames kept: see `Frames.fine`)."""
        if kind == "image" or (kind is None and path.suffix.lower() in IMAGE_SUFFIXES):
            return MediaType.IMAGE, decode_image(path.read_bytes())
        return MediaType.VIDEO, decode_video(path, fine=kind is None)

    def _for(self, media: MediaType) -> list[tuple[Any, HammingIndex, ReferenceStore]]:
        names = {m.name for m in for_media(media)}
        return [v for k, v in self.methods.items() if k in names]

    def register(self, ref_id: str, path: Path, kind: str) -> None:
        media, signal = self._decode(path, kind)
        doc = len(self.names) + 1
        self.names[doc] = ref_id
        for method, index, store in self._for(media):
            fp = method.extract(signal, Role.REFERENCE)
            if len(fp) == 0:
                continue
            store.put(doc, method.pack_reference(method.prepare_reference(fp.data)))
            with index.writing():
                index.add(doc, fp.codes, fp.positions)
            if kind != "image" and method.name in VIDEO_METHODS:
                self.codes_registered[method.name] = self.codes_registered.get(
                    method.name, 0
                ) + len(fp)
        if kind != "image":
            self.seconds_registered += float(signal.duration)

    def finish(self) -> None:
        for _, index, _ in self.methods.values():
            with index.writing():
                index.flush()

    def index_bytes(self) -> int:
        """The frame and window methods' indexes and reference stores (what registered video
        costs; the reference photos' few PDQ hashes are in the frame method's too). The
        keypoint method's, which holds only the photos, is `keypoint_bytes`."""
        return sum(
            f.stat().st_size
            for name in ("frames", "windows")
            for f in (self.root / name).rglob("*")
            if f.is_file()
        )

    def keypoint_bytes(self) -> int:
        return sum(f.stat().st_size for f in (self.root / "keypoints").rglob("*") if f.is_file())

    def identify(self, path: Path) -> list[Found]:
        """The works `path` shows. CPU seconds go to `phases`: "extract" (decoding and every
        method's hashing) and "search" (the index lookups and the scoring)."""
        t0 = time.process_time()
        media, signal = self._decode(path)
        best: dict[str, list[Segment]] = {}
        scores: dict[str, list[float]] = {}
        for method, index, store in self._for(media):
            fp: Fingerprints = method.extract(signal, Role.QUERY)
            t1 = time.process_time()
            self.phases["extract"] += t1 - t0
            t0 = t1
            if len(fp) == 0:
                continue
            found = _hamming_lookup(method, index, fp)
            hits = Hits(fp.positions[found.query_pos], found.doc, found.ref_pos, found.distance)

            def prepared(doc: int, m: Any = method, st: ReferenceStore = store) -> Any:
                key = (m.name, doc)
                if key not in self._refs:
                    packed = st.get(doc)
                    self._refs[key] = None if packed is None else m.unpack_reference(packed)
                return self._refs[key]

            for c in method.score(fp, hits, prepared):
                if c.verdict != Verdict.MATCH or c.doc not in self.names:
                    continue
                name = self.names[c.doc]
                scores.setdefault(name, []).append(c.score)
                # every method's segments, merged as `identify` merges them
                best.setdefault(name, []).extend(
                    Segment((s.query_start, s.query_end), (s.ref_start, s.ref_end)) for s in c.spans
                )
            t1 = time.process_time()
            self.phases["search"] += t1 - t0
            t0 = t1
        out: list[Found] = []
        for name, segments in best.items():
            combined = 1.0 - float(np.prod([1.0 - s for s in scores[name]]))
            out += [
                Found(name, g.query[0], g.query[1], g.reference[0], g.reference[1], combined)
                for g in merge_segments(segments)
            ] or [Found(name, score=combined)]
        return sorted(out, key=lambda f: -f.score)

    def pad(self, hours: float) -> None:
        """Grow the video methods' indexes to `hours` of video with codes shaped like the
        registered ones: the real reference codes with their bits permuted and flipped by a
        fixed random mask per copy (same number per hour, same clustering; they match nothing
        real). Written as large segments (inverted files above `IVF_MIN` codes), as a
        compacted index is."""
        for name in VIDEO_METHODS:
            method, index, store = self.methods[name]
            per_hour = self.codes_registered.get(name, 0) / max(
                self.seconds_registered / 3600.0, 1e-9
            )
            _pad(index, int(hours * per_hour))
            # and their references' times, as registering them would store (2 bytes a code:
            # the index's size on disk counts them, and a padding film a first pass
            # shortlists is scored like any other)
            every = 3600.0 / max(per_hour, 1e-9)
            for doc, n in _padding_films(index):
                if store.get(doc) is None:
                    t = (np.arange(n) * every).astype(np.float32)
                    times = FrameHashes(
                        t, np.zeros(n, dtype=bool), np.arange(n, dtype=np.uint32), False, n * every
                    )
                    store.put(doc, method.pack_reference(times))


def _padding_films(index: HammingIndex) -> list[tuple[int, int]]:
    """(doc, codes) of the padding films in the index."""
    out: dict[int, int] = {}
    for seg in index.segments:
        post = np.asarray(seg.post)
        docs, counts = np.unique(post[:, 0][post[:, 0] >= PAD_DOC], return_counts=True)
        for d, c in zip(docs.tolist(), counts.tolist(), strict=True):
            out[d] = out.get(d, 0) + c
    return sorted(out.items())


def _pad(index: HammingIndex, total: int) -> None:
    have = index.stats()["codes"]
    want = total - have
    if want <= 0:
        return
    base = np.concatenate([np.asarray(s.codes) for s in index.segments]) if index.segments else None
    if base is None or base.shape[0] == 0:
        raise RuntimeError("register references before padding")
    bits = np.unpackbits(base, axis=1)
    width = bits.shape[1]
    rng = np.random.default_rng(7 + have)
    doc = PAD_DOC + have
    chunk = 2_000_000
    with index.writing():
        index.delta_limit = chunk
        done = 0
        while done < want:
            n = min(chunk, want - done)
            perm = rng.permutation(width)
            mask = rng.integers(0, 2, size=width, dtype=np.uint8)
            rows = rng.integers(0, bits.shape[0], size=n)
            codes = np.packbits(bits[rows][:, perm] ^ mask, axis=1)
            # one padding "film" per 20,000 codes, positions in order
            for a in range(0, n, 20_000):
                part = codes[a : a + 20_000]
                index.add(doc, part, np.arange(part.shape[0], dtype=np.uint32))
                doc += 1
            done += n
        index.flush()
