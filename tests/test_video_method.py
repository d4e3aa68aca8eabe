"""The frame method end to end: synthetic films (shots of moving texture), real encoders and
decoders, the real Hamming index and the app.

Behaviour only (right film, right seconds in the upload and in the film, nothing for
unrelated footage); accuracy on real video is the benchmark's job (`scripts/bench-video`)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jianwang import Jianwang
from jianwang.domain import InvalidInput, MediaType, TooLarge, Verdict
from jianwang.fingerprint.base import Hits, Role
from jianwang.fingerprint.visual import (
    FrameFingerprinter,
    frame_codes,
    from_hex,
    hamming,
    pdq,
    to_hex,
)
from jianwang.fingerprint.windows import WindowFingerprinter
from jianwang.identify import HAMMING_BITS, _hamming_lookup
from jianwang.index.hamming import HammingIndex
from jianwang.media import decode
from jianwang.media.video import content_box, decode_image, decode_video
from jianwang.services.registry import WorkInput
from tests import video_fixtures as vf
from tests.audio_fixtures import song

FPS = 25
FILMS = 4


@pytest.fixture(scope="module")
def films() -> dict[int, list[np.ndarray]]:
    return {i: vf.shots(10 + i, 36.0) for i in range(FILMS + 1)}


@pytest.fixture(scope="module")
def library(films: dict) -> list[tuple[Any, HammingIndex, dict]]:
    """The first FILMS films registered with the frame and window methods (what a video's
    pictures are indexed by), decoded from H.264 as a user's files would be."""
    out = []
    for method in (FrameFingerprinter(), WindowFingerprinter()):
        index = HammingIndex(None, bits=HAMMING_BITS[method.hash_kind])
        refs = {}
        for i in range(FILMS):
            fp = method.extract(decode(vf.encode(films[i])).signal, Role.REFERENCE)
            assert len(fp) > 0
            index.add(i, fp.codes, fp.positions)
            packed = method.pack_reference(method.prepare_reference(fp.data))
            refs[i] = method.unpack_reference(packed)
        out.append((method, index, refs))
    return out


def _identify(library: list, data: bytes) -> list:
    """Both methods' candidates, the better one per film first (a match, then the score),
    as `identify` combines them."""
    signal = decode(data, query=True).signal
    best: dict[int, Any] = {}
    for method, index, refs in library:
        fp = method.extract(signal, Role.QUERY)
        found = _hamming_lookup(method, index, fp)  # both passes, as `identify` does
        hits = Hits(fp.positions[found.query_pos], found.doc, found.ref_pos, found.distance)
        for c in method.score(fp, hits, refs.get):
            old = best.get(c.doc)
            if old is None or _rank(c) < _rank(old):
                best[c.doc] = c
    return sorted(best.values(), key=_rank)


def _rank(c: Any) -> tuple[bool, float]:
    return (c.verdict != Verdict.MATCH, -c.score)


def _upload(films: dict, film: int, start: float, seconds: float, fn: Callable | None = None):
    """Unrelated footage, then `seconds` of `film` from `start` (distorted by `fn`), then
    more unrelated footage: the excerpt starts 6 s into the upload."""
    excerpt = films[film][int(start * FPS) : int((start + seconds) * FPS)]
    if fn is not None:
        excerpt = [fn(f) for f in excerpt]
    filler = films[FILMS]
    return filler[: 6 * FPS] + excerpt + filler[6 * FPS : 10 * FPS]


DISTORTIONS = {
    "re-encoded small": (None, {"size": (192, 144)}),
    "crop 20 %": (lambda f: vf.crop(f, 0.2), {}),
    "crop 20 % off centre": (lambda f: vf.crop_at(f, 0.2, 0.9, 0.15), {}),
    "crop 15 % in a corner": (lambda f: vf.crop_at(f, 0.15, 0.0, 1.0), {}),
    "letterbox": (vf.letterbox, {}),
    "mirrored": (vf.flip, {}),
    "brighter, gamma": (vf.brighten, {}),
    "station logo": (vf.logo, {}),
}


@pytest.mark.parametrize("name", list(DISTORTIONS))
def test_excerpt_inside_an_upload_is_found_and_placed(library, films, name) -> None:
    fn, kw = DISTORTIONS[name]
    frames = _upload(films, 2, 12.0, 14.0, fn)
    cands = _identify(library, vf.encode(frames, **kw))
    assert cands and cands[0].doc == 2 and cands[0].verdict == Verdict.MATCH
    seg = max(cands[0].spans, key=lambda s: s.query_end - s.query_start)
    # the excerpt is at 6-20 s of the upload and 12-26 s of the film (an edge may lose a
    # shot whose frames the distortion spoiled)
    assert abs(seg.query_start - 6.0) < 2.0 and abs(seg.query_end - 20.0) < 2.0
    assert abs(seg.ref_start - 12.0) < 2.0 and abs(seg.ref_end - 26.0) < 2.0
    assert abs((seg.ref_start - seg.query_start) - 6.0) < 0.5
    assert cands[0].evidence["mirrored"] == (1.0 if name == "mirrored" else 0.0)
    assert all(c.verdict != Verdict.MATCH for c in cands[1:])


@pytest.mark.parametrize("corner", [(1, 0), (0, 1)])
def test_picture_in_picture_is_found_and_placed(library, films, corner) -> None:
    """The film shrunk to 40 % of the width in a corner while unrelated footage plays on
    around it: no whole frame matches, the inset does."""
    filler = vf.shots(77, 30.0)
    excerpt = films[2][12 * FPS : 26 * FPS]
    frames = (
        filler[: 6 * FPS]
        + [vf.inset(b, f, 0.4, corner) for b, f in zip(filler[6 * FPS :], excerpt, strict=False)]
        + filler[20 * FPS : 24 * FPS]
    )
    data = vf.encode(frames, size=(480, 360))
    cands = _identify(library, data)
    assert cands and cands[0].doc == 2 and cands[0].verdict == Verdict.MATCH, cands
    seg = max(cands[0].spans, key=lambda s: s.query_end - s.query_start)
    assert abs(seg.query_start - 6.0) < 2.0 and abs(seg.query_end - 20.0) < 2.0
    assert abs((seg.ref_start - seg.query_start) - 6.0) < 0.5


def test_inset_box_is_found_where_it_was_drawn(films) -> None:
    """`find_insets` on decoded frames: the box where the inset was drawn, and no box in
    full-frame footage."""
    from jianwang.fingerprint.geometry import find_insets

    filler = vf.shots(78, 16.0)
    frames = [vf.inset(b, f, 0.4) for b, f in zip(filler, films[1], strict=False)]
    sig = decode_video(vf.encode(frames, size=(640, 480)), fine=True)
    assert sig.fine is not None and sig.fine.shape[1:] == (128, 128)
    found = find_insets(sig.times, sig.fine)
    assert found, "no inset found"
    pw, ph, m = 128, 96, 10  # as `vf.inset` draws it in 320 x 240 (then scaled)
    truth = ((320 - pw - m) / 320, m / 240, (320 - m) / 320, (m + ph) / 240)
    for ins in found:
        err = max(abs(a - b) for a, b in zip(ins.box, truth, strict=True))
        # within a pixel and a half of DETAIL: the drawn border blurs which edge is which
        assert err < 1.5 / 128, (ins.box, truth)
    plain = decode_video(vf.encode(filler, size=(640, 480)), fine=True)
    assert plain.fine is not None
    assert find_insets(plain.times, plain.fine) == []


def test_speed_change_is_read_back(library, films) -> None:
    """Played 5 % faster: 14 s of film in 13.3 s of upload; the speed is estimated."""
    excerpt = films[1][10 * FPS : 24 * FPS]
    frames = films[FILMS][: 6 * FPS] + excerpt + films[FILMS][6 * FPS : 9 * FPS]
    cands = _identify(library, vf.encode(frames, fps=FPS * 1.05))
    assert cands[0].doc == 1 and cands[0].verdict == Verdict.MATCH
    assert abs(cands[0].evidence["speed"] - 1.05) < 0.02
    seg = cands[0].spans[0]
    assert abs(seg.ref_start - (10.0 + 1.05 * (seg.query_start - 6 / 1.05))) < 1.0


def test_two_excerpts_of_two_films_in_one_upload(library, films) -> None:
    frames = films[0][: 10 * FPS] + films[FILMS][: 5 * FPS] + films[3][20 * FPS : 32 * FPS]
    cands = _identify(library, vf.encode(frames))
    found = {c.doc: c for c in cands if c.verdict == Verdict.MATCH}
    assert set(found) == {0, 3}
    assert abs(found[3].spans[0].query_start - 15.0) < 1.5
    assert abs(found[3].spans[0].ref_start - 20.0) < 1.5


def test_unrelated_footage_matches_nothing(library) -> None:
    for seed in (900, 901, 902):
        cands = _identify(library, vf.encode(vf.shots(seed, 20.0)))
        assert all(c.verdict != Verdict.MATCH for c in cands), cands


def test_black_bars_are_found_and_dark_scenes_are_not_bars() -> None:
    pic = np.full((128, 128), 120, dtype=np.uint8)
    pic[:20] = 5
    pic[110:] = 8
    assert content_box(pic) == (21, 109, 0, 128)
    dark = np.full((128, 128), 10, dtype=np.uint8)
    dark[60:70, 60:70] = 200  # a dark scene with one bright spot: no bars
    assert content_box(dark) == (0, 128, 0, 128)


def test_decoding_samples_frames_and_refuses_damage(films) -> None:
    data = vf.encode(films[0][: 8 * FPS])
    frames = decode_video(data, fps=5.0)
    assert 38 <= len(frames) <= 42 and frames.pixels.shape[1:] == (64, 64)
    assert np.all(np.diff(frames.times) > 0.15) and abs(frames.duration - 8.0) < 0.2
    with pytest.raises(InvalidInput):
        decode(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 200)
    # a truncated stream keeps what it showed before the cut; a truncated MP4 has lost its
    # index (written last) and cannot be read: a clear error
    ts = vf.encode(films[0][: 8 * FPS], container="mpegts")
    cut = decode_video(ts[: len(ts) * 2 // 3])
    assert 10 <= len(cut) < len(frames)
    with pytest.raises(InvalidInput):
        decode(data[: len(data) * 2 // 3])


def test_formats_decode_alike(films) -> None:
    """MKV (VP9), WebM (VP8) and MPEG-TS (MPEG-2) carry the same film: the frames at the
    same moments get codes a few bits apart."""
    clip = films[1][: 4 * FPS]
    base = decode_video(vf.encode(clip))
    mine = frame_codes(base.pixels)
    for container, codec in (
        ("matroska", "libvpx-vp9"),
        ("webm", "libvpx"),
        ("mpegts", "mpeg2video"),
    ):
        other = decode_video(vf.encode(clip, container=container, codec=codec))
        assert abs(len(other) - len(base)) <= 2, container
        theirs = frame_codes(other.pixels)
        d = []
        for i in range(len(other)):
            j = int(np.argmin(np.abs(base.times - other.times[i])))
            d.append(hamming(theirs[i], mine[j]))
        assert float(np.median(d)) <= 10, (container, np.median(d))  # of 112 bits


def test_batched_pdq_equals_pdqhash() -> None:
    """The crop windows' batch hash (PDQ's DCT as a matrix product) gives pdqhash's bits."""
    from jianwang.fingerprint.visual import pdq_batch

    views = []
    for seed in range(6):
        pic = vf.picture(seed, (160, 120))
        grey = np.asarray(pic.mean(axis=2), dtype=np.uint8)
        views.append(np.ascontiguousarray(grey[seed * 5 : seed * 5 + 64, seed * 9 : seed * 9 + 64]))
    batch = pdq_batch(np.stack(views))
    assert [hamming(batch[k], pdq(v)[0]) for k, v in enumerate(views)] == [0] * len(views)


def test_pdq_hex_round_trip() -> None:
    rng = np.random.default_rng(1)
    pic = (rng.random((64, 64)) * 255).astype(np.uint8)
    code, quality = pdq(pic)
    text = to_hex(code)
    assert len(text) == 64 and np.array_equal(from_hex(text), code) and quality > 0


# ------------------------------------------------------------------ images


def _jpeg(pixels: np.ndarray, quality: int = 30) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _png(pixels: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", pixels[:, :, ::-1])
    assert ok
    return buf.tobytes()


def _screenshot(pic: np.ndarray) -> np.ndarray:
    """The picture at 60 % of a window with a title bar, a sidebar of text and a margin."""
    import cv2

    canvas = np.full((800, 1280, 3), 236, dtype=np.uint8)
    cv2.rectangle(canvas, (0, 0), (1280, 40), (60, 60, 70), -1)
    for i in range(12):
        cv2.putText(
            canvas,
            f"item {i} ........",
            (20, 90 + 50 * i),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.7,
            (30, 30, 30),
            2,
        )
    w = int(1280 * 0.6)
    h = int(w * pic.shape[0] / pic.shape[1])
    canvas[100 : 100 + h, 400 : 400 + w] = cv2.resize(pic, (w, h), interpolation=cv2.INTER_AREA)
    return canvas


def test_picture_inside_a_screenshot_is_cut_out_by_the_frame_method() -> None:
    """The frame method alone (no local features): the screenshot's whole-picture hash is
    far from the poster's, the box found around the picture inside it is close."""
    from jianwang.fingerprint.visual import INSET

    poster = vf.picture(81)
    method = FrameFingerprinter()
    ref = method.extract(decode(_png(poster)).signal, Role.REFERENCE)
    shot = method.extract(decode(_png(_screenshot(poster)), query=True).signal, Role.QUERY)
    parts = shot.data.parts()[shot.positions]
    whole = min(hamming(c, ref.codes[0]) for c in shot.codes[parts == 0])
    inset = min(hamming(c, ref.codes[0]) for c in shot.codes[parts == INSET])
    assert whole > 26 and inset <= 16, (whole, inset)  # of 112 bits


def _window(pic: np.ndarray, share: float, x: float, y: float) -> np.ndarray:
    """A window of `share` of each side, at relative position (x, y) in [0, 1]."""
    h, w = pic.shape[:2]
    ch, cw = int(h * share), int(w * share)
    y0, x0 = int((h - ch) * y), int((w - cw) * x)
    return np.ascontiguousarray(pic[y0 : y0 + ch, x0 : x0 + cw])


def test_images_and_stills_of_films(jw_sqlite: Jianwang, films) -> None:
    """A poster is found under re-compression, crops anywhere in the picture, a mirror, an
    overlay and inside a screenshot; a still of a registered film is found with its time in
    the film; unrelated pictures match nothing."""
    poster = vf.picture(77)
    work = jw_sqlite.registry.add_work(
        WorkInput(files=[("poster.png", _png(poster))], type="image", title="P", owner="Studio")
    )
    assert work.assets[0].media == MediaType.IMAGE
    for name, variant in (
        ("jpeg", _jpeg(poster, 25)),
        ("centre crop", _jpeg(vf.crop(poster, 0.2), 70)),
        ("corner crop", _jpeg(_window(poster, 0.8, 0.0, 1.0), 70)),
        ("side crop", _jpeg(_window(poster, 0.8, 1.0, 0.3), 70)),
        ("mirror", _png(vf.flip(poster))),
        ("logo", _png(vf.logo(poster))),
        ("screenshot", _png(_screenshot(poster))),
    ):
        matches = jw_sqlite.identify(variant, "copy.jpg").matches
        assert matches and matches[0].work_id == work.id, name
        assert matches[0].verdict == Verdict.MATCH and matches[0].segments == (), name
    film = jw_sqlite.registry.add_work(
        WorkInput(files=[("film.mp4", vf.encode(films[2]))], type="film", title="F", owner="S")
    )
    still = _jpeg(films[2][int(20.4 * FPS)], 60)
    result = jw_sqlite.identify(still, "still.jpg")
    assert result.media == MediaType.IMAGE
    top = result.matches[0]
    assert top.work_id == film.id and top.verdict == Verdict.MATCH
    assert abs(top.segments[0].reference[0] - 20.4) < 1.0
    for seed in (555, 556, 557):
        other = _png(vf.picture(seed))
        assert all(m.verdict != Verdict.MATCH for m in jw_sqlite.identify(other, "x").matches)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def test_degenerate_pictures_are_identified_without_failing(jw_sqlite: Jianwang) -> None:
    """A 600 x 1 sprite strip and a 3 x 3 icon: no local features, no crash, no match."""
    for size in ((600, 1), (3, 3), (1, 400)):
        pic = np.full((size[1], size[0], 3), 128, dtype=np.uint8)
        pic[:, ::2] = 30
        result = jw_sqlite.identify(_png(pic), "tiny.png")
        assert result.media == MediaType.IMAGE and result.matches == ()


def test_image_bombs_and_damage_are_refused() -> None:
    with pytest.raises(TooLarge):
        decode_image(_png_header_only(60_000, 60_000))
    with pytest.raises(InvalidInput):
        decode(_png(vf.shots(3, 0.2)[0])[:40])


# ------------------------------------------------------------------ the app


def test_film_registered_and_identified_by_pictures_and_sound(jw: Jianwang, films) -> None:
    """A film with a soundtrack: a copy found by both methods scores higher than by either;
    a silent, cropped copy is still found by its pictures."""
    rate = 22050
    sound = song(321, 36.0, rate).astype(np.float32)
    film = films[3]
    work = jw.registry.add_work(
        WorkInput(
            files=[("film.mp4", vf.encode(film, audio=sound, audio_rate=rate))],
            type="film",
            title="Film",
            owner="Studio",
        )
    )
    assert work.assets[0].media == MediaType.VIDEO
    excerpt = film[8 * FPS : 24 * FPS]
    both = jw.identify(vf.encode(excerpt, audio=sound[8 * rate : 24 * rate], audio_rate=rate))
    assert both.media == MediaType.VIDEO
    top = both.matches[0]
    assert top.work_id == work.id and top.verdict == Verdict.MATCH
    # pictures (whole frames, and their middles through the window method) and sound
    assert {"frames", "audio"} <= set(top.method.split("+"))
    seg = top.segments[0]
    assert abs(seg.reference[0] - 8.0) < 1.0 and abs(seg.reference[1] - 24.0) < 1.5
    silent = jw.identify(vf.encode([vf.crop(f, 0.2) for f in excerpt]))
    [m] = [m for m in silent.matches if m.verdict == Verdict.MATCH]
    # a 20 % crop: no whole frame matches, the middles do (window method)
    assert m.work_id == work.id and "windows" in m.method.split("+") and m.score < top.score


def test_music_work_from_a_video_takes_its_sound_only(jw_sqlite: Jianwang, films) -> None:
    with pytest.raises(InvalidInput, match="needs sound"):
        jw_sqlite.registry.add_work(
            WorkInput(
                files=[("mv.mp4", vf.encode(films[0][:50]))], type="music", title="M", owner="L"
            )
        )


# ------------------------------------------------------------------ the index


def test_hamming_index_persists_replays_and_removes(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 2**63, size=(50, 4), dtype=np.uint64)
    idx = HammingIndex(tmp_path / "ix")
    with idx.writing():
        idx.add(1, codes[:30], np.arange(30, dtype=np.uint32))
        idx.flush()
        idx.add(2, codes[30:], np.arange(20, dtype=np.uint32))  # stays in the delta log
    again = HammingIndex(tmp_path / "ix")
    near = codes[[3, 40]].copy()
    near[:, 0] ^= np.uint64(0b1011)  # three bits off
    hits = again.lookup(near, radius=8)
    got = sorted(
        zip(
            hits.query_pos.tolist(),
            hits.doc.tolist(),
            hits.ref_pos.tolist(),
            hits.distance.tolist(),
            strict=True,
        )
    )
    assert got == [(0, 1, 3, 3), (1, 2, 10, 3)]
    # the dense second pass against chosen documents finds what the full lookup finds there
    within = again.lookup_within(near, np.array([2], dtype=np.uint32), radius=8)
    assert within.doc.tolist() == [2] and within.ref_pos.tolist() == [10]
    with again.writing():
        again.remove([1])
    assert HammingIndex(tmp_path / "ix").lookup(near, radius=8).doc.tolist() == [2]
    with again.writing():
        again.compact()
    final = HammingIndex(tmp_path / "ix")
    assert final.stats()["codes"] == 20 and final.lookup(near, radius=8).doc.tolist() == [2]
    # a torn last record (a crash during add) is ignored and cut off by the next writer
    log = tmp_path / "ix" / "delta.log"
    with final.writing():
        final.add(3, codes[:2], np.arange(2, dtype=np.uint32))
    with open(log, "ab") as fh:
        fh.write(b"\x07\x00\x00\x00\x05\x00")
    assert sorted(HammingIndex(tmp_path / "ix").lookup(codes[:1], radius=0).doc.tolist()) == [3]
    with pytest.raises(ValueError):
        final.add(4, np.zeros((2, 2), dtype=np.uint64), np.arange(2, dtype=np.uint32))


def test_segments_store_documents_as_runs_and_positions_only_when_needed(tmp_path: Path) -> None:
    """One hash per position (the frame method's references) costs the hash and nothing
    else on disk: documents are runs of rows and positions follow from the row. Positions
    that do not (several hashes of one frame) are kept, and older segments, with a
    (doc, position) per row, still open."""
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 2**63, size=(4_000, 4), dtype=np.uint64)
    idx = HammingIndex(tmp_path / "ix")
    with idx.writing():
        idx.add(7, codes[:3_000], np.arange(3_000, dtype=np.uint32))
        idx.add(9, codes[3_000:], np.arange(1_000, dtype=np.uint32))
        idx.flush()
    assert not list((tmp_path / "ix").glob("*.pos.npy"))
    assert idx.bytes_on_disk() < 4_000 * 32 + 2_000  # the hashes, and headers
    hits = HammingIndex(tmp_path / "ix").lookup(codes[[10, 3_500]], radius=0)
    assert sorted(zip(hits.doc.tolist(), hits.ref_pos.tolist(), strict=True)) == [(7, 10), (9, 500)]
    # several hashes per position: positions are stored
    idx2 = HammingIndex(tmp_path / "ix2")
    with idx2.writing():
        idx2.add(1, codes[:6], np.array([0, 0, 1, 1, 2, 2], dtype=np.uint32))
        idx2.flush()
    assert list((tmp_path / "ix2").glob("*.pos.npy"))
    got = HammingIndex(tmp_path / "ix2").lookup(codes[3:4], radius=0)
    assert got.doc.tolist() == [1] and got.ref_pos.tolist() == [1]
    # an older segment: post.npy instead of runs (and pos)
    seg = next((tmp_path / "ix2").glob("seg-*.runs.npy")).name.split(".")[0]
    np.save(
        tmp_path / "ix2" / f"{seg}.post.npy",
        np.array([[1, 0], [1, 0], [1, 1], [1, 1], [1, 2], [1, 2]], dtype=np.uint32),
    )
    for suffix in ("runs", "pos"):
        (tmp_path / "ix2" / f"{seg}.{suffix}.npy").unlink()
    old = HammingIndex(tmp_path / "ix2").lookup(codes[4:5], radius=0)
    assert old.doc.tolist() == [1] and old.ref_pos.tolist() == [2]


def test_cli_registers_a_film_and_reports_time_ranges(tmp_path: Path, films) -> None:
    import json

    from tests.test_cli import run

    home = tmp_path / "home"
    (tmp_path / "film.mkv").write_bytes(
        vf.encode(films[1], container="matroska", codec="libvpx-vp9")
    )
    wid = run(
        home,
        "works",
        "add",
        str(tmp_path / "film.mkv"),
        "--type",
        "film",
        "--title",
        "Film",
        "--owner",
        "Studio",
    ).stdout.strip()
    frames = _upload(films, 1, 14.0, 12.0, vf.flip)
    (tmp_path / "copy.mp4").write_bytes(vf.encode(frames))
    res = run(home, "identify", str(tmp_path / "copy.mp4"))
    assert f": match {wid} " in res.stdout and "mirrored" in res.stdout
    assert "0:06" in res.stdout and "0:14" in res.stdout  # 0:06.x in the copy ~ 0:14.x
    m = json.loads(run(home, "identify", "--json", str(tmp_path / "copy.mp4")).stdout)
    assert m["media"] == "video" and m["matches"][0]["method"] == "frames"
    seg = m["matches"][0]["segments"][0]
    assert abs(seg["query"][0] - 6.0) < 1.5 and abs(seg["reference"][0] - 14.0) < 1.5
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x01" * 500)
    bad = run(home, "identify", str(tmp_path / "broken.mp4"), ok=False)
    assert bad.returncode != 0 and "broken.mp4" in bad.stderr


def test_large_segments_are_searched_through_an_inverted_file(tmp_path: Path, monkeypatch) -> None:
    """Above IVF_MIN codes a segment gets a persisted inverted file; near codes are still
    found (the lists nearest the query are searched), and compaction keeps it consistent."""
    import jianwang.index.hamming as hm

    monkeypatch.setattr(hm, "IVF_MIN", 2_000)
    rng = np.random.default_rng(9)
    centres = rng.integers(0, 2**63, size=(40, 4), dtype=np.uint64)
    codes = centres[rng.integers(0, 40, size=3_000)].copy()
    codes[:, 1] ^= rng.integers(0, 2**16, size=3_000, dtype=np.uint64)  # noise in 16 bits
    idx = HammingIndex(tmp_path / "ix")
    with idx.writing():
        idx.add(1, codes, np.arange(3_000, dtype=np.uint32))
        idx.flush()
    assert list((tmp_path / "ix").glob("seg-*.lists.npz"))
    again = HammingIndex(tmp_path / "ix")
    assert again.segments[0].faiss_index.ntotal == 3_000
    probe = codes[[5, 500, 2500]].copy()
    probe[:, 3] ^= np.uint64(0b111)
    hits = again.lookup(probe, radius=24)
    for q, row in enumerate((5, 500, 2500)):
        assert row in hits.ref_pos[hits.query_pos == q].tolist()
    # compaction rewrites the lists without a removed document, and drops the old files
    with again.writing():
        again.add(2, codes[:10], np.arange(10, dtype=np.uint32))
        again.remove([1])
        again.compact()
    files = sorted(p.name for p in (tmp_path / "ix").glob("seg-*"))
    assert len({f.split(".")[0] for f in files}) == 1
    assert not any(f.endswith(".lists.npz") for f in files)  # 10 codes: flat
    assert set(again.lookup(probe, radius=24).doc.tolist()) <= {2}


def test_a_lookup_may_search_fewer_or_more_inverted_lists(tmp_path: Path, monkeypatch) -> None:
    """`nprobe` per lookup: all lists find every code within the radius (as a flat search
    does), one list finds only some (random codes: a code's own list is not always the
    nearest), and the index's own setting is left as it was."""
    import jianwang.index.hamming as hm

    monkeypatch.setattr(hm, "IVF_MIN", 2_000)
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 256, size=(4_000, 16), dtype=np.uint8)
    idx = HammingIndex(tmp_path / "ix", bits=128)
    flat = HammingIndex(None, bits=128)
    for i in (idx, flat):
        with i.writing():
            i.add(1, codes, np.arange(4_000, dtype=np.uint32))
            i.flush()
    probe = codes[:50].copy()
    probe[:, 0] ^= np.uint8(1)
    nlist = idx.segments[0].faiss_index.nlist
    every = idx.lookup(probe, radius=52, nprobe=nlist)
    truth = flat.lookup(probe, radius=52)
    pairs = lambda h: set(zip(h.query_pos.tolist(), h.ref_pos.tolist(), strict=True))  # noqa: E731
    assert pairs(every) == pairs(truth) and len(truth) > 50
    one = pairs(idx.lookup(probe, radius=52, nprobe=1))
    assert one < pairs(truth)  # what one list holds, and no more
    assert len({(q, q) for q in range(50)} & one) > 25  # a code's own list is mostly nearest
    assert idx.segments[0].faiss_index.nprobe == hm.IVF_NPROBE


def test_odd_width_codes_are_searched_padded_with_true_distances(
    tmp_path: Path, monkeypatch
) -> None:
    """112-bit codes (14 bytes) are searched by FAISS at 16 bytes, zero-padded: flat and
    inverted-file segments give the true distances, the files keep 14 bytes a code, and an
    inverted file written at 14 bytes (before padding) is still searched."""
    import faiss

    import jianwang.index.hamming as hm

    monkeypatch.setattr(hm, "IVF_MIN", 2_000)
    rng = np.random.default_rng(11)
    centres = rng.integers(0, 256, size=(30, 14), dtype=np.uint8)
    codes = centres[rng.integers(0, 30, size=3_000)].copy()
    codes[:, 12:] ^= rng.integers(0, 256, size=(3_000, 2), dtype=np.uint8)
    small = HammingIndex(tmp_path / "small", bits=112)
    big = HammingIndex(tmp_path / "big", bits=112)
    for idx, rows in ((small, codes[:500]), (big, codes)):
        with idx.writing():
            idx.add(1, rows, np.arange(rows.shape[0], dtype=np.uint32))
            idx.flush()
    assert np.load(next((tmp_path / "big").glob("seg-*.codes.npy"))).shape == (3_000, 14)
    probe = codes[[7, 300, 450]].copy()
    probe[:, 0] ^= np.uint8(0b1011)  # 3 bits away
    truth = np.unpackbits(probe[:, None, :] ^ codes[None, :500, :], axis=2).sum(axis=2)
    for idx in (small, HammingIndex(tmp_path / "big")):
        hits = idx.lookup(probe, radius=20)
        for q, row in enumerate((7, 300, 450)):
            at = hits.ref_pos[hits.query_pos == q].tolist()
            assert row in at
            got = hits.distance[(hits.query_pos == q) & (hits.ref_pos == row)]
            assert got.tolist() == [3]
        if idx is small:  # exact: every code within the radius, at its distance
            for q in range(3):
                mine = hits.query_pos == q
                assert (
                    sorted(hits.ref_pos[mine].tolist()) == np.flatnonzero(truth[q] <= 20).tolist()
                )
                assert sorted(hits.distance[mine].tolist()) == sorted(
                    truth[q][truth[q] <= 20].tolist()
                )
    # FAISS's own inverted file of 14-byte codes, as segments were written before
    stored = next((tmp_path / "big").glob("seg-*.lists.npz"))
    ivf = stored.with_name(stored.name.replace(".lists.npz", ".ivf"))
    stored.unlink()
    quantizer = faiss.IndexBinaryFlat(112)
    old = faiss.IndexBinaryIVF(quantizer, 112, 16)
    old.train(codes)
    old.add(codes)
    faiss.write_index_binary(old, str(ivf))
    hits = HammingIndex(tmp_path / "big").lookup(probe, radius=20)
    assert 300 in hits.ref_pos[hits.query_pos == 1].tolist()


def test_wide_letterbox_is_cropped_when_centred() -> None:
    pic = np.full((128, 128), 150, dtype=np.uint8)
    pic[:30] = 0
    pic[98:] = 0  # 47 % of the height in two equal bars
    assert content_box(pic) == (31, 97, 0, 128)
    lopsided = np.full((128, 128), 150, dtype=np.uint8)
    lopsided[:60] = 0  # one dark half: a dark scene, not bars
    assert content_box(lopsided) == (0, 128, 0, 128)


def test_scoring_survives_a_reference_store_shorter_than_the_index(library, films) -> None:
    """Positions beyond what the stored reference holds (a store written by an older run)
    are skipped, not an error: the rest of the reference still scores."""
    from jianwang.fingerprint.visual import FrameHashes

    method, index, refs = library[0]
    ref = refs[2]
    short = FrameHashes(
        ref.t[: len(ref) // 2],
        ref.mirrored[: len(ref) // 2],
        ref.frame[: len(ref) // 2],
        ref.still,
        ref.duration,
        None if ref.part is None else ref.part[: len(ref) // 2],
    )
    fp = method.extract(decode(vf.encode(films[2][: 12 * FPS])).signal, Role.QUERY)
    found = _hamming_lookup(method, index, fp)
    hits = Hits(fp.positions[found.query_pos], found.doc, found.ref_pos, found.distance)
    cands = method.score(fp, hits, lambda d: short if d == 2 else refs.get(d))
    assert cands and cands[0].doc == 2


def test_two_methods_segments_are_merged_where_they_agree() -> None:
    """A work found by its frames and by its crops' windows: segments that overlap in the
    upload and map it onto the same place of the work become one stretch; one that puts
    the upload elsewhere in the work stays apart; a lesser match that is only a review adds
    no segment."""
    from jianwang.domain import Match, Segment
    from jianwang.identify import _combine, merge_segments

    frames = Segment((6.0, 14.0), (18.0, 26.0))
    windows = Segment((12.0, 22.0), (24.5, 34.0))  # same offset (+12 / +12.5)
    elsewhere = Segment((13.0, 16.0), (90.0, 93.0))
    later = Segment((40.0, 44.0), (52.0, 56.0))  # same offset, not touching: apart
    merged = merge_segments([windows, later, frames, elsewhere])
    assert merged == (
        Segment((6.0, 22.0), (18.0, 34.0)),
        Segment((13.0, 16.0), (90.0, 93.0)),
        Segment((40.0, 44.0), (52.0, 56.0)),
    )
    a = Match("w", "t", 0.9, Verdict.MATCH, (frames,), "frames")
    b = Match("w", "t", 0.6, Verdict.MATCH, (windows,), "windows")
    both = _combine(b, a)
    assert both.method == "frames+windows" and both.segments == (merged[0],)
    assert abs(both.score - (1 - 0.1 * 0.4)) < 1e-9
    review = Match("w", "t", 0.3, Verdict.REVIEW, (elsewhere,), "windows")
    assert _combine(a, review).segments == (frames,)


def test_a_segment_is_cut_where_its_line_leaves_the_reference() -> None:
    """A line that maps the copy's first moments before the reference's start (or its last
    past the reference's end) reports only the part inside the reference, on both axes."""
    from jianwang.fingerprint.visual import _span

    early = _span(9.8, 12.8, 1.0, -11.3, 30.0)
    assert (early.query_start, early.query_end, early.ref_start, early.ref_end) == (
        11.3,
        12.8,
        0.0,
        1.5,
    )
    late = _span(5.0, 15.0, 1.05, 20.0, 30.0)
    assert late.query_start == 5.0 and late.ref_end == 30.0
    assert abs(late.query_end - 10.0 / 1.05) < 0.01
    outside = _span(2.0, 3.0, 1.0, -10.0, 30.0)  # nothing inside: kept against the edge
    assert (outside.query_start, outside.query_end, outside.ref_start) == (2.0, 3.0, 0.0)
    free = _span(4.0, 6.0, 1.0, 1.0)  # no known duration: only the start bounds it
    assert (free.ref_start, free.ref_end) == (5.0, 7.0)


def test_a_reload_reuses_open_segments_but_not_rebuilt_ones(tmp_path: Path) -> None:
    """Another process's flush: the reader's reload opens only the new segment. An index
    rebuilt from scratch (same segment names, new files) is opened anew."""
    import shutil

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 256, size=(200, 14), dtype=np.uint8)
    writer = HammingIndex(tmp_path / "ix", bits=112)
    with writer.writing():
        writer.add(1, codes[:100], np.arange(100, dtype=np.uint32))
        writer.flush()
    reader = HammingIndex(tmp_path / "ix", bits=112)
    first = reader.segments[0]
    with writer.writing():
        writer.add(2, codes[100:], np.arange(100, dtype=np.uint32))
        writer.flush()
    reader._checked = -1e9  # as if a second had passed
    assert reader.refresh()
    assert len(reader.segments) == 2 and reader.segments[0] is first
    shutil.rmtree(tmp_path / "ix")
    again = HammingIndex(tmp_path / "ix", bits=112)
    with again.writing():
        again.add(3, codes[:50], np.arange(50, dtype=np.uint32))
        again.flush()
    reader._checked = -1e9
    assert reader.refresh()
    assert reader.segments[0] is not first
    assert set(reader.lookup(codes[:50], radius=0).doc.tolist()) == {3}


def test_inverted_list_order_is_stored_as_gaps_and_read_back() -> None:
    """A segment's rows in list order are stored as gaps within each list (ascending rows:
    small numbers that compress); reading them back gives the same order, empty lists too."""
    from jianwang.index.hamming import _gaps, _ungaps

    rng = np.random.default_rng(8)
    for n, lists in ((5_000, 64), (40, 100)):
        assign = rng.integers(0, lists, size=n)
        order = np.argsort(assign, kind="stable").astype(np.uint32)
        starts = np.zeros(lists + 1, dtype=np.int64)
        starts[1:] = np.cumsum(np.bincount(assign, minlength=lists))
        gaps = _gaps(order, starts)
        assert np.array_equal(_ungaps(gaps, starts), order)
        assert int(gaps.max()) <= n and (n < 1_000 or np.median(gaps) < n / 10)
