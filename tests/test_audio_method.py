"""The audio method end to end: synthetic songs, real encoders and decoders, the real index.

Behaviour only (right song, right place, speed and pitch read back, nothing for unrelated
audio); accuracy on real recordings is the benchmark's job (`scripts/bench-audio`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jianwang import Jianwang
from jianwang.domain import InvalidInput, MediaType, Verdict
from jianwang.fingerprint.audio import AudioFingerprinter
from jianwang.fingerprint.base import Hits, Role
from jianwang.index.exact import ExactIndex
from jianwang.media.audio import Audio, decode_audio
from jianwang.services.registry import WorkInput
from tests.audio_fixtures import encode, resample, song

RATE = 22050
SONGS = 5


@pytest.fixture(scope="module")
def songs() -> dict[int, np.ndarray]:
    return {i: song(100 + i, 40.0, RATE) for i in range(SONGS + 2)}


@pytest.fixture(scope="module")
def library(songs: dict[int, np.ndarray]) -> tuple[AudioFingerprinter, ExactIndex, dict]:
    """The first SONGS songs registered (decoded from Ogg/Opus, as a user's files would be)."""
    method = AudioFingerprinter()
    index = ExactIndex(None)
    refs = {}
    for i in range(SONGS):
        audio = decode_audio(encode(songs[i], RATE, "ogg"))
        fp = method.extract(audio, Role.REFERENCE)
        assert len(fp) > 0
        index.add(i + 1, fp.codes, fp.positions)
        refs[i + 1] = method.unpack_reference(method.pack_reference(fp.data))
    return method, index, refs


def _identify(library: tuple, samples: np.ndarray, fmt: str = "wav") -> list:
    method, index, refs = library
    audio = decode_audio(encode(samples, RATE, fmt))
    fp = method.extract(audio, Role.QUERY)
    found = index.lookup(fp.codes)
    hits = Hits(fp.positions[found.query_pos], found.doc, found.ref_pos)
    return method.score(fp, hits, refs.get)


def _excerpt(x: np.ndarray, start: float, seconds: float) -> np.ndarray:
    return x[int(start * RATE) : int((start + seconds) * RATE)]


@pytest.mark.parametrize("fmt", ["wav", "mp3", "ipod", "flac"])
def test_clean_excerpt_found_with_its_place(library: tuple, songs: dict, fmt: str) -> None:
    cands = _identify(library, _excerpt(songs[2], 12.0, 10.0), fmt)
    assert cands and cands[0].doc == 3 and cands[0].verdict == Verdict.MATCH
    best = cands[0]
    assert abs(best.evidence["offset"] - 12.0) < 0.2  # reference time at query start
    assert abs(best.evidence["speed"] - 1.0) < 0.01 and abs(best.evidence["pitch"] - 1.0) < 0.01
    span = best.spans[0]
    assert span.query_end - span.query_start > 4.0
    assert abs(span.ref_start - (12.0 + span.query_start)) < 0.2
    assert all(c.doc == 3 for c in cands if c.verdict == Verdict.MATCH)


@pytest.mark.parametrize("factor", [1.05, 0.95, 1.12])
def test_speed_change_read_back(library: tuple, songs: dict, factor: float) -> None:
    """Played faster or slower: tempo and pitch change together; both are estimated."""
    y = resample(_excerpt(songs[1], 10.0, 12.0), factor)[: 10 * RATE]
    best = _identify(library, y)[0]
    assert best.doc == 2 and best.verdict == Verdict.MATCH
    assert abs(best.evidence["speed"] / factor - 1) < 0.01
    assert abs(best.evidence["pitch"] / factor - 1) < 0.015
    assert abs(best.evidence["offset"] - 10.0) < 0.3


def test_pitch_shift_with_tempo_kept(library: tuple, songs: dict) -> None:
    """Up one semitone at the original tempo (resampled, then time-stretched back by FFmpeg's
    atempo): pitch read back as 2^(1/12), speed as 1."""
    import av

    semitone = 2 ** (1 / 12)
    y = resample(_excerpt(songs[4], 5.0, 12.0), semitone)
    graph = av.filter.Graph()
    src = graph.add_abuffer(format="flt", sample_rate=RATE, layout="mono")
    tempo = graph.add("atempo", f"{1 / semitone:.6f}")
    sink = graph.add("abuffersink")
    src.link_to(tempo)
    tempo.link_to(sink)
    graph.configure()
    frame = av.AudioFrame.from_ndarray(y.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = RATE
    graph.push(frame)
    graph.push(None)
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))
        except (av.error.BlockingIOError, av.error.EOFError):
            break
    best = _identify(library, np.concatenate(out)[: 10 * RATE])[0]
    assert best.doc == 5 and best.verdict == Verdict.MATCH
    assert abs(best.evidence["pitch"] / semitone - 1) < 0.01
    assert abs(best.evidence["speed"] - 1) < 0.01


def test_noise_and_unrelated_audio(library: tuple, songs: dict) -> None:
    rng = np.random.default_rng(0)
    x = _excerpt(songs[0], 20.0, 10.0)
    noisy = x + rng.standard_normal(x.shape[0]).astype(np.float32) * np.sqrt(np.mean(x**2) / 10)
    best = _identify(library, noisy)[0]
    assert best.doc == 1 and best.verdict == Verdict.MATCH
    # songs never registered, and plain noise: nothing matches
    for other in (songs[SONGS], songs[SONGS + 1]):
        assert not [
            c for c in _identify(library, _excerpt(other, 5.0, 15.0)) if c.verdict == Verdict.MATCH
        ]
    hiss = (0.1 * rng.standard_normal(10 * RATE)).astype(np.float32)
    assert not [c for c in _identify(library, hiss) if c.verdict == Verdict.MATCH]


def test_medley_gives_each_work_its_own_range(library: tuple, songs: dict) -> None:
    medley = np.concatenate([_excerpt(songs[0], 5.0, 10.0), _excerpt(songs[3], 20.0, 10.0)])
    found = {c.doc: c for c in _identify(library, medley) if c.verdict == Verdict.MATCH}
    assert set(found) == {1, 4}
    a, b = found[1].spans[0], found[4].spans[0]
    assert a.query_end <= 10.5 and b.query_start >= 9.5
    assert abs(a.ref_start - a.query_start - 5.0) < 0.3
    assert abs(b.ref_start - (b.query_start - 10.0) - 20.0) < 0.3


def test_silence_and_tiny_inputs_give_nothing() -> None:
    method = AudioFingerprinter()
    for n in (0, 100, RATE * 5):
        fp = method.extract(Audio(np.zeros(n, dtype=np.float32), 11025), Role.QUERY)
        assert len(fp) == 0


def test_reference_round_trip(library: tuple, songs: dict) -> None:
    method, _, _ = library
    audio = decode_audio(encode(songs[0], RATE, "wav"))
    prepared = method.prepare_reference(audio)
    packed = method.pack_reference(prepared)
    back = method.unpack_reference(packed)
    assert len(back) == len(prepared)
    # groups of one anchor share its 5 bytes; a group adds its span's byte
    assert len(packed) < 12 + 4 * len(prepared)
    # anchor to the frame (11.6 ms), pitch to 1/8 bin, span to half a frame
    assert np.allclose(back.t1, prepared.t1, atol=0.5 / 86.1 + 1e-4)
    assert np.allclose(back.f1, prepared.f1, atol=1 / 16 + 1e-4)
    assert np.allclose(back.dt, prepared.dt, atol=0.25 / 86.1 + 1e-4)


# ------------------------------------------------------------------ through the application


def test_register_music_and_identify_through_the_app(jw: Jianwang, songs: dict) -> None:
    work = jw.registry.add_work(
        WorkInput(
            files=[("theme.ogg", encode(songs[0], RATE, "ogg"))],
            type="music",
            title="Theme",
            owner="Label",
        )
    )
    jw.registry.add_work(
        WorkInput(
            files=[("other.mp3", encode(songs[1], RATE, "mp3"))],
            type="music",
            title="Other",
            owner="Label",
        )
    )
    assert work.assets[0].media == MediaType.AUDIO
    copy = resample(_excerpt(songs[0], 15.0, 12.0), 1.05)[: 10 * RATE]
    result = jw.identify(encode(copy, RATE, "mp3"), "copy.mp3")
    assert result.media == MediaType.AUDIO
    top = result.matches[0]
    assert top.work_id == work.id and top.verdict == Verdict.MATCH and top.method == "audio"
    assert abs(top.evidence["speed"] - 1.05) < 0.01
    seg = top.segments[0]
    assert abs(seg.reference[0] - (15.0 + 1.05 * seg.query[0])) < 0.3
    js = result.to_json()["matches"][0]
    assert js["evidence"]["speed"] == pytest.approx(1.05, abs=0.01)
    # a corrupt file: one clear error, nothing registered
    with pytest.raises(InvalidInput):
        jw.identify(b"ID3" + b"\x00" * 5000)
    before = len(jw.registry.list_works())
    with pytest.raises(InvalidInput):
        jw.registry.add_work(
            WorkInput(
                files=[("bad.mp3", b"ID3\x04" + bytes(range(256)) * 40)],
                type="music",
                title="Bad",
                owner="Label",
            )
        )
    assert len(jw.registry.list_works()) == before


def test_audio_stored_before_the_method_is_fingerprinted_on_open(
    tmp_path: Path, songs: dict
) -> None:
    """Homes from before the audio method hold audio assets without manifests: opening the
    home fingerprints them, once."""
    from sqlalchemy import delete

    from jianwang.store.models import FingerprintRow

    jw = Jianwang.open(tmp_path / "home")
    work = jw.registry.add_work(
        WorkInput(
            files=[("a.flac", encode(songs[2], RATE, "flac"))], type="music", title="A", owner="L"
        )
    )
    with jw.sessions.begin() as s:
        s.execute(delete(FingerprintRow))
    for d in jw.indexes.root.iterdir():
        import shutil

        shutil.rmtree(d)
    again = Jianwang.open(tmp_path / "home")
    assert again.registry.has_unfingerprinted() is False
    res = again.identify(encode(_excerpt(songs[2], 8.0, 8.0), RATE, "wav"))
    assert res.matches and res.matches[0].work_id == work.id


def test_cli_registers_music_and_reports_time_ranges(tmp_path: Path, songs: dict) -> None:
    from tests.test_cli import run

    home = tmp_path / "home"
    (tmp_path / "song.m4a").write_bytes(encode(songs[3], RATE, "ipod"))
    wid = run(
        home,
        "works",
        "add",
        str(tmp_path / "song.m4a"),
        "--type",
        "music",
        "--title",
        "Song",
        "--owner",
        "Label",
    ).stdout.strip()
    copy = resample(_excerpt(songs[3], 20.0, 16.0), 0.95)[: 15 * RATE]
    (tmp_path / "copy.mp3").write_bytes(encode(copy, RATE, "mp3"))
    res = run(home, "identify", str(tmp_path / "copy.mp3"))
    assert f": match {wid} " in res.stdout
    assert "0:2" in res.stdout  # the work's range, as m:ss.s (around 0:20)
    assert "speed x0.95" in res.stdout and "semitones" in res.stdout
    js = run(home, "identify", "--json", str(tmp_path / "copy.mp3")).stdout
    import json

    m = json.loads(js)["matches"][0]
    assert m["method"] == "audio" and abs(m["evidence"]["pitch"] - 0.95) < 0.01
    assert abs(m["segments"][0]["reference"][0] - 20.0 - 0.95 * m["segments"][0]["query"][0]) < 0.3
    (tmp_path / "broken.mp3").write_bytes(b"ID3\x03" + b"\x00" * 300)
    bad = run(home, "identify", str(tmp_path / "broken.mp3"), ok=False)
    assert bad.returncode == 1 and "broken.mp3" in bad.stderr


def test_compiled_peaks_equal_numpy() -> None:
    from jianwang.fingerprint import audio as audio_mod
    from jianwang.fingerprint.normalize import _core

    if _core is None:
        pytest.skip("compiled core not built")
    rng = np.random.default_rng(3)
    for shape in [(50, 40), (300, 120), (7, 9)]:
        mag = rng.normal(size=shape).astype(np.float32)
        mag[5:7, 5:7] = 3.0  # ties
        floor = np.full(shape, -0.5, dtype=np.float32)
        a = audio_mod.local_maxima(mag, floor)
        b = audio_mod.local_maxima_numpy(mag, floor)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_compiled_onset_emphasis_equals_numpy() -> None:
    from jianwang.fingerprint import audio as audio_mod
    from jianwang.fingerprint.normalize import _core

    if _core is None:
        pytest.skip("compiled core not built")
    rng = np.random.default_rng(4)
    for shape in [(50, 40), (300, 120), (1, 9)]:
        level = (rng.normal(size=shape) * 10 - 40).astype(np.float32)
        x0 = level[0] + rng.normal(size=shape[1]).astype(np.float32)
        y0 = rng.normal(size=shape[1]).astype(np.float32)
        a_out, a_y = audio_mod.onset_emphasis(level, x0, y0)
        b_out, b_y = audio_mod.onset_emphasis_numpy(level, x0, y0)
        assert a_out.dtype == b_out.dtype == np.float32
        np.testing.assert_allclose(a_y, b_y, rtol=0, atol=1e-4)
        np.testing.assert_allclose(a_out, b_out, rtol=0, atol=1e-4)


def test_onset_emphasis_is_continuous_across_chunks() -> None:
    """The filter carries its state from chunk to chunk: a long recording's peaks are those
    of the same audio analysed in one piece, wherever the chunks fall."""
    from jianwang.fingerprint import audio as audio_mod

    rng = np.random.default_rng(5)
    level = (rng.normal(size=(400, 30)) * 10 - 40).astype(np.float32)
    zero = np.zeros(30, dtype=np.float32)
    whole, _ = audio_mod.onset_emphasis(level, level[0], zero)
    _, hy = audio_mod.onset_emphasis(level[:250], level[0], zero)
    tail, _ = audio_mod.onset_emphasis(level[200:], level[199], hy[199])
    np.testing.assert_allclose(tail, whole[200:], rtol=0, atol=1e-3)


def _video_with_soundtrack(samples: np.ndarray, rate: int) -> bytes:
    """An MP4 (MPEG-4 Part 2 pictures, AAC sound) whose soundtrack is `samples`."""
    import io
    from fractions import Fraction

    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        audio.layout = "mono"
        size = audio.codec_context.frame_size or 1024
        seconds = samples.shape[0] / rate
        for i in range(int(seconds * 10)):
            frame = av.VideoFrame.from_ndarray(
                np.full((48, 64, 3), (i * 7) % 255, np.uint8), format="rgb24"
            )
            for packet in video.encode(frame):
                out.mux(packet)
        for start in range(0, samples.shape[0], size):
            chunk = np.ascontiguousarray(samples[start : start + size].reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)
    return buf.getvalue()


def test_video_is_identified_by_its_soundtrack(jw_sqlite: Jianwang, songs: dict) -> None:
    """A pirated video whose soundtrack is a registered song, sped up 5 %: found by the audio
    method, with the place in the song (its pictures match nothing registered)."""
    work = jw_sqlite.registry.add_work(
        WorkInput(
            files=[("song.flac", encode(songs[4], RATE, "flac"))],
            type="music",
            title="Song",
            owner="Label",
        )
    )
    track = resample(_excerpt(songs[4], 10.0, 14.0), 1.05)[: 12 * RATE].astype(np.float32)
    result = jw_sqlite.identify(_video_with_soundtrack(track, RATE), "clip.mp4")
    assert result.media == MediaType.VIDEO
    top = result.matches[0]
    assert top.work_id == work.id and top.verdict == Verdict.MATCH and top.method == "audio"
    assert abs(top.evidence["speed"] - 1.05) < 0.01
    assert abs(top.evidence["offset"] - 10.0) < 0.3
