"""The file method on real programs: renamed, patched, rebranded, appended-to and truncated
copies of a system binary, and another build of the same source, are found; unrelated
binaries are not. Then the whole path through the CLI: software and game works registered
from binaries and archives, archives identified member by member."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jianwang import Jianwang
from jianwang.domain import Verdict
from jianwang.fingerprint import files as F
from jianwang.fingerprint.base import Role
from jianwang.services.registry import WorkInput

from .test_cli import one_line_error, run


def _system_binaries(n: int) -> list[Path]:
    out = []
    for name in ("ls", "cp", "tar", "grep", "find", "sed", "bash", "diff", "sort", "du", "gzip"):
        for d in ("/usr/bin", "/bin"):
            p = Path(d) / name
            if p.is_file() and 60_000 < p.stat().st_size < 3_000_000:
                if all(p.resolve() != q.resolve() for q in out):
                    out.append(p)
                break
    if len(out) < n:
        pytest.skip(f"needs {n} system binaries in /usr/bin")
    return out[:n]


def _variants(data: bytes) -> dict[str, bytes]:
    rng = np.random.default_rng(7)
    patched = bytearray(data)
    for off in rng.integers(len(data) // 4, len(data) * 3 // 4, size=4):
        patched[int(off)] ^= 0xFF
    rebranded = data.replace(b"GNU", b"XYZ")
    assert rebranded != data
    return {
        "renamed": data,
        "patched": bytes(patched),
        "rebranded": rebranded,
        "appended": data + os.urandom(300_000),
        "truncated": data[: int(len(data) * 0.7)],
    }


def test_distorted_copies_match_and_unrelated_binaries_do_not(tmp_path: Path) -> None:
    target, *others = _system_binaries(5)
    with Jianwang.open(home=tmp_path / "home") as jw:
        work = jw.registry.add_work(WorkInput([target], "software", "Tool", "Vendor"))
        for kind, data in _variants(target.read_bytes()).items():
            ident = jw.identify(data, kind)
            assert ident.matches, kind
            m = ident.matches[0]
            assert (m.work_id, m.verdict, m.method) == (work.id, Verdict.MATCH, "file"), kind
            if kind == "renamed":
                assert m.evidence == {"exact": 1.0} and m.score == 1.0
            else:
                assert m.evidence["coverage"] >= 0.5, (kind, m.evidence)
        for other in others:
            ident = jw.identify(other.read_bytes(), other.name)
            assert ident.media.value == "file"
            assert [m for m in ident.matches if m.verdict == Verdict.MATCH] == [], other


def test_chunks_survive_edits_around_them() -> None:
    data = os.urandom(400_000)
    base = set(F.chunk_hashes(data).tolist())
    edited = data[:200_000] + b"patch" + data[200_005:]
    after = set(F.chunk_hashes(edited).tolist())
    assert len(base & after) >= len(base) - 2
    # cuts agree whatever the block size the numpy passes use
    cuts = F.gear_cuts(data)
    assert cuts[-1] == len(data)
    assert np.all(np.diff(np.concatenate([[0], cuts])) <= F.MAX_CHUNK)


def test_elf_sections_survive_truncation() -> None:
    (target,) = _system_binaries(1)
    data = target.read_bytes()
    whole = F.executable_sections(data)
    assert whole and all(len(s) >= F.MIN_SECTION_BYTES for s in whole)
    cut = F.executable_sections(data[: len(data) * 2 // 3])  # section headers are gone
    assert len(cut) == len(whole)
    a, b = F.tlsh_digest(whole[0]), F.tlsh_digest(cut[0])
    assert a is not None and b is not None and F.tlsh_distance(a, b) < 60


def test_pack_round_trip() -> None:
    (target,) = _system_binaries(1)
    fp = F.FileMethod().extract(target.read_bytes(), Role.REFERENCE)
    m = F.FileMethod()
    facts = m.prepare_reference(fp.data)
    assert m.unpack_reference(m.pack_reference(facts)) == facts
    assert fp.data.sections and fp.data.whole
    kinds = set((fp.positions >> 24).tolist())
    assert kinds == {
        F.KIND_SHA, F.KIND_CHUNK, F.KIND_TLSH, F.KIND_SECTION, F.KIND_CODE, F.KIND_STRING
    }  # fmt: skip
    assert fp.data.code >= F.MIN_SET_KEYS and fp.data.strings > 0


C_SOURCE = r"""
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
static unsigned long mix(unsigned long x) { x ^= x >> 31; x *= 0x7fb5d329728ea185UL;
  return x ^ (x >> 27); }
%s
int main(int argc, char **argv) {
  unsigned long acc = 0;
  for (int i = 0; i < argc; i++) acc += mix(strlen(argv[i]) + %d);
%s
  printf("%%s %%lu\n", "%s", acc);
  return 0;
}
"""


def _build(tmp: Path, version: int) -> bytes:
    funcs = "\n".join(
        f"unsigned long f{i}(unsigned long x) {{ for (int k = 0; k < {i % 7 + 2}; k++) "
        f"x = mix(x + {i * 977 + version * 1_000_003}); return x ^ {i}; }}"
        for i in range(220)
    )
    calls = "\n".join(f"  acc ^= f{i}(acc);" for i in range(220))
    src = tmp / f"prog{version}.c"
    src.write_text(C_SOURCE % (funcs, version, calls, f"prog 1.{version}"))
    out = tmp / f"prog{version}"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(src)], check=True, capture_output=True)
    return out.read_bytes()


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to build two releases")
def test_another_release_matches_by_tlsh(tmp_path: Path) -> None:
    v1, v2 = _build(tmp_path, 1), _build(tmp_path, 2)
    assert v1 != v2
    with Jianwang.open(home=tmp_path / "home") as jw:
        work = jw.registry.add_work(WorkInput([("prog", v1)], "software", "Prog", "Dev"))
        ident = jw.identify(v2, "prog-1.2")
        m = ident.matches[0]
        assert m.work_id == work.id and m.verdict == Verdict.MATCH, m.evidence
        assert m.evidence["coverage"] < 0.5  # a rebuild moves code: found by TLSH
        assert min(m.evidence.get("tlsh", 999), m.evidence.get("section_tlsh", 999)) <= 40


def test_normalise_code_zeroes_displacements_like_a_byte_loop() -> None:
    (target,) = _system_binaries(1)
    data = target.read_bytes()
    (a, _b), *_ = F.executable_ranges(data)
    code = np.frombuffer(data[a : a + 40_000], dtype=np.uint8)
    want = code.copy()
    zero = np.zeros(len(code) + 8, dtype=bool)
    for i, b in enumerate(code.tolist()):
        if b in (0xE8, 0xE9):
            zero[i + 1 : i + 5] = True
        if b == 0x0F and i + 1 < len(code) and code[i + 1] & 0xF0 == 0x80:
            zero[i + 2 : i + 6] = True
        if i and b & 0xC7 == 0x05 and F._RIP_OPS[code[i - 1]]:
            zero[i + 1 : i + 5] = True
    want[zero[: len(code)]] = 0
    got = F.normalise_code(code)
    assert np.array_equal(got, want)
    assert 0.05 < float(np.mean(zero[: len(code)])) < 0.5  # real code has many to zero
    assert np.array_equal(code, np.frombuffer(data[a : a + 40_000], dtype=np.uint8))


def test_code_grams_compiled_and_numpy_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    (target,) = _system_binaries(1)
    data = target.read_bytes()
    a, b = F.executable_ranges(data)[0]
    compiled = F.code_grams(memoryview(data)[a:b])
    monkeypatch.setattr(F, "_core", None)
    assert np.array_equal(F.code_grams(memoryview(data)[a:b]), compiled)
    # about one 16-byte window in 256, most of them distinct
    assert (b - a) / 256 * 0.3 < len(compiled) < (b - a) / 256 * 2


def test_code_grams_and_strings_are_the_same_read_in_small_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (target,) = _system_binaries(1)
    data = target.read_bytes()
    code = F.executable_ranges(data)
    skip = code + F.elf_dynstr(data)
    grams = [F.code_grams(memoryview(data)[a:b]) for a, b in code]
    strings = F.string_keys(data, skip)
    assert len(strings) >= 20 and all(len(g) >= 20 for g in grams)
    for block in (1000, 4096):
        monkeypatch.setattr(F, "_SCAN_BLOCK", block)
        again = [F.code_grams(memoryview(data)[a:b]) for a, b in code]
        assert all(np.array_equal(x, y) for x, y in zip(grams, again, strict=True)), block
        assert np.array_equal(F.string_keys(data, skip), strings), block


def test_dynamic_symbol_names_are_not_strings() -> None:
    (target,) = _system_binaries(1)
    data = target.read_bytes()
    ((start, end),) = F.elf_dynstr(data)
    assert b"\0malloc\0" in data[start:end] or b"\0free\0" in data[start:end]
    assert data[start:end].count(b"\0") > 20  # a table of names
    code = F.executable_ranges(data)
    kept = set(F.string_keys(data, [*code, (start, end)]).tolist())
    every = set(F.string_keys(data, code).tolist())
    assert kept < every  # the imported names are left out, the rest stays
    assert F.elf_dynstr(b"MZ" + bytes(100)) == [] and F.elf_dynstr(data[:64]) == []


def test_rebuild_with_moved_code_matches_by_code_and_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release that adds a function in front moves every call target and every address:
    its chunks and raw code windows are lost, its normalised code windows and strings
    are not."""
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build two releases")
    funcs = "".join(
        f'int f{i}(int x) {{ if (x > {i}) printf("tool message {i}: value %d of %s\\n", '
        f'x * {i + 3} + helper(x), "unit{i}"); return x ^ {i * 7919}; }}\n'
        for i in range(800)
    )
    calls = "".join(f"  acc += f{i}(acc + argc);\n" for i in range(800))
    body = f"{funcs}int main(int argc, char **argv) {{\n  int acc = 0;\n{calls}  return acc;\n}}\n"
    helper = "int helper(int x) { return x * 3 + 1; }\n"
    extra = "".join(f"int pad{i}(int x) {{ return x * {i + 7} + {i}; }}\n" for i in range(40))
    builds = []
    for version, src in ((1, helper + body), (2, extra + helper + body)):
        c = tmp_path / f"tool{version}.c"
        c.write_text("#include <stdio.h>\n" + src)
        out = tmp_path / f"tool{version}"
        subprocess.run(["gcc", "-O1", "-o", str(out), str(c)], check=True, capture_output=True)
        builds.append(out.read_bytes())
    v1, v2 = builds
    with Jianwang.open(home=tmp_path / "home") as jw:
        work = jw.registry.add_work(WorkInput([("tool", v1)], "software", "Tool", "Dev"))
        m = jw.identify(v2, "tool-2").matches[0]
        assert m.work_id == work.id and m.verdict == Verdict.MATCH, m.evidence
        assert m.evidence["rebuild"] >= F.MATCH_REBUILD, m.evidence
        assert m.evidence["strings"] > 0.9  # the same messages
    # without the normalisation the code windows around calls are lost
    a1, b1 = F.executable_ranges(v1)[0]
    a2, b2 = F.executable_ranges(v2)[0]
    norm = _jaccard(F.code_grams(v1[a1:b1]), F.code_grams(v2[a2:b2]))
    monkeypatch.setattr(F, "normalise_code", lambda code: code)
    raw = _jaccard(F.code_grams(v1[a1:b1]), F.code_grams(v2[a2:b2]))
    assert norm > raw + 0.1, (norm, raw)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    x, y = set(a.tolist()), set(b.tolist())
    return len(x & y) / len(x | y)


def test_unrelated_programs_stay_below_the_rebuild_threshold() -> None:
    """Programs of one package share static library code (coreutils and gnulib), so code
    windows alone would call them releases of each other; their own strings do not agree."""
    picks = _system_binaries(5)
    facts = {}
    for p in picks:
        f, keys, _ = F.analyse(p.read_bytes())
        kind = keys >> np.uint64(60)
        facts[p.name] = (f, set(keys[kind == F.KIND_CODE].tolist()),
                         set(keys[kind == F.KIND_STRING].tolist()))  # fmt: skip
    for x in facts:
        for y in facts:
            if x >= y:
                continue
            (_, cx, sx), (_, cy, sy) = facts[x], facts[y]
            vals = [
                j
                for j in (
                    F._jaccard(len(cx & cy), len(cx), len(cy)),
                    F._jaccard(len(sx & sy), len(sx), len(sy)),
                )
                if j is not None
            ]
            assert vals and sum(vals) / len(vals) < F.MATCH_REBUILD, (x, y, vals)


# ---------------------------------------------------------------- through the CLI


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_cli_software_and_archives(tmp_path: Path) -> None:
    home = tmp_path / "home"
    target, other = _system_binaries(2)
    res = run(home, "works", "add", str(target), "--type", "software", "--title", "Tool",
              "--owner", "Vendor", "--json")  # fmt: skip
    work_id = json.loads(res.stdout)["id"]
    data = target.read_bytes()
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:xz") as t:
        info = tarfile.TarInfo("usr/bin/renamed-tool")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    arc = _zip(tmp_path / "warez.zip", {"inner.tar.xz": inner.getvalue(),
                                         "other": other.read_bytes()})  # fmt: skip
    obj = json.loads(run(home, "identify", str(arc), "--json").stdout)
    assert obj["media"] == "file"
    (m,) = obj["matches"]
    assert m["work_id"] == work_id and m["verdict"] == "match"
    assert m["member"] == "inner.tar.xz/usr/bin/renamed-tool"
    assert set(m) == {"work_id", "title", "score", "verdict", "segments", "method",
                      "evidence", "member"}  # fmt: skip
    text = run(home, "identify", str(arc)).stdout
    assert "identical file" in text and "in inner.tar.xz/usr/bin/renamed-tool" in text
    # the same archive through standard input, and a plain binary without "member"
    stdin = json.loads(run(home, "identify", "-", "--json", stdin=arc.read_bytes()).stdout)
    assert stdin["matches"][0]["member"] == "inner.tar.xz/usr/bin/renamed-tool"
    plain = json.loads(run(home, "identify", str(target), "--json").stdout)
    assert "member" not in plain["matches"][0]
    assert not any((home / "tmp").iterdir())  # unpacked members are gone


def test_cli_archive_errors_are_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    src = tmp_path / "src"
    src.mkdir()
    (src / "game.bin").write_bytes(os.urandom(2000))
    locked = tmp_path / "locked.zip"
    if shutil.which("zip") is None:
        pytest.skip("needs zip to make a password-protected archive")
    subprocess.run(["zip", "-q", "-P", "pw", str(locked), "game.bin"], cwd=src, check=True)
    line = one_line_error(run(home, "identify", str(locked), ok=False))
    assert "encrypted archive" in line and "game.bin" in line
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z, z.open("zeros", "w") as f:
        for _ in range(8):
            f.write(b"\0" * (1 << 20))
    line = one_line_error(run(home, "identify", str(bomb), ok=False,
                              env={"JIANWANG_ARCHIVE_MAX_RATIO": "50"}))  # fmt: skip
    assert "expands more than 50 times" in line
    assert not any((home / "tmp").iterdir())


def test_game_found_by_share_of_its_files(tmp_path: Path) -> None:
    """A game registered from its release archive (program, data files, a picture); a
    repack holding part of it names the game with the share of its files found."""
    from PIL import Image

    pic = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (96, 128, 3), np.uint8)).save(
        pic, "PNG"
    )
    line = io.BytesIO()  # a 1-pixel-high sprite: the keypoint method cannot read it
    Image.new("RGB", (600, 1), (200, 30, 30)).save(line, "PNG")
    target, *_ = _system_binaries(1)
    rng = np.random.default_rng(3)
    release = {
        "game/bin/game": target.read_bytes(),
        "game/data/level1.pak": rng.bytes(90_000),
        "game/data/level2.pak": rng.bytes(70_000),
        "game/data/title.png": pic.getvalue(),
        "game/data/line.png": line.getvalue(),
        "game/README": b"A game.\n",
    }
    arc = _zip(tmp_path / "game-1.0.zip", release)
    home = tmp_path / "home"
    res = run(home, "works", "add", str(arc), "--type", "game", "--title", "Game",
              "--owner", "Studio", "--json")  # fmt: skip
    work = json.loads(res.stdout)
    names = {a["filename"] for a in work["assets"]}
    assert {
        "game-1.0.zip",
        "game-1.0.zip/game/bin/game",
        "game-1.0.zip/game/data/title.png",
    } <= names
    repack = tmp_path / "repack.tar.gz"
    with tarfile.open(repack, "w:gz") as t:
        for name in ("game/bin/game", "game/data/level1.pak", "game/data/title.png"):
            info = tarfile.TarInfo(name.replace("game/", "GAME_REPACK/"))
            info.size = len(release[name])
            t.addfile(info, io.BytesIO(release[name]))
    (m,) = json.loads(run(home, "identify", str(repack), "--json").stdout)["matches"]
    assert m["work_id"] == work["id"] and m["verdict"] == "match"
    assert m["member"].startswith("GAME_REPACK/")
    # six reference files plus the archive itself; three were found
    assert m["evidence"]["files"] == 3 and m["evidence"]["share"] == pytest.approx(3 / 7, 0.01)
