"""Safe unpacking: every kind of archive bomb, traversal name, link escape, truncated and
encrypted archive ends in a clear error, nothing is written outside the temp area, and the
temp area is empty afterwards."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import libarchive
import py7zr
import pytest

from jianwang.domain import InvalidInput
from jianwang.media.archive import (
    ArchiveBomb,
    ArchiveLimits,
    EncryptedArchive,
    UnsafeArchive,
    archive_format,
    unpack,
)

PAYLOAD = {"bin/tool": os.urandom(3000), "data/readme.txt": b"hello archive\n" * 50}


def _zip(path: Path, files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _tar(path: Path, files: dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    (h / "keep.txt").write_text("precious")
    return h


def _unpack(path: Path, home: Path, limits: ArchiveLimits | None = None) -> dict[str, bytes]:
    with unpack(path, limits or ArchiveLimits(), home / "tmp") as members:
        return {m.path: m.read() for m in members}


def _unharmed(home: Path, outside: Path) -> None:
    assert (home / "keep.txt").read_text() == "precious"
    assert not any((home / "tmp").iterdir()) if (home / "tmp").exists() else True
    assert not (outside / "evil").exists()


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize("kind", ["zip", "stored-zip", "tar", "tar.gz", "tar.bz2", "tar.xz"])
def test_stdlib_formats_unpack(tmp_path: Path, home: Path, kind: str) -> None:
    if kind == "zip":
        arc = _zip(tmp_path / "a.zip", PAYLOAD)
    elif kind == "stored-zip":
        arc = _zip(tmp_path / "a.apk", PAYLOAD, zipfile.ZIP_STORED)
    else:
        mode = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
        arc = _tar(tmp_path / f"a.{kind}", PAYLOAD, mode)
    assert archive_format(arc.read_bytes()[:512]) is not None
    assert _unpack(arc, home) == PAYLOAD
    _unharmed(home, tmp_path)


def test_tar_zstd_and_7z_unpack(tmp_path: Path, home: Path) -> None:
    tar = _tar(tmp_path / "a.tar", PAYLOAD)
    subprocess.run(["zstd", "-q", "-f", str(tar), "-o", str(tmp_path / "a.tar.zst")], check=True)
    assert _unpack(tmp_path / "a.tar.zst", home) == PAYLOAD
    with py7zr.SevenZipFile(tmp_path / "a.7z", "w") as z:
        for name, data in PAYLOAD.items():
            z.writestr(data, name)
    assert _unpack(tmp_path / "a.7z", home) == PAYLOAD
    _unharmed(home, tmp_path)


def test_nested_archives_and_lone_gzip(tmp_path: Path, home: Path) -> None:
    inner = _tar(tmp_path / "inner.tar.xz", PAYLOAD, "w:xz")
    outer = _zip(tmp_path / "outer.zip", {"pack/inner.tar.xz": inner.read_bytes()})
    got = _unpack(outer, home)
    assert got["pack/inner.tar.xz/bin/tool"] == PAYLOAD["bin/tool"]
    assert "pack/inner.tar.xz" in got  # the nested archive is a member too
    (tmp_path / "tool.gz").write_bytes(gzip.compress(PAYLOAD["bin/tool"]))
    assert _unpack(tmp_path / "tool.gz", home) == {"tool": PAYLOAD["bin/tool"]}


def test_a_member_that_only_looks_like_an_archive_is_a_file(tmp_path: Path, home: Path) -> None:
    fake = b"\x1f\x8b" + os.urandom(5000)  # gzip's magic by chance
    cut = _tar(tmp_path / "x.tar.xz", {"a": os.urandom(90_000)}, "w:xz").read_bytes()[:3000]
    got = _unpack(_zip(tmp_path / "o.zip", {"data.bin": fake, "old.tar.xz": cut}), home)
    assert got == {"data.bin": fake, "old.tar.xz": cut}


# ---------------------------------------------------------------- bombs


def test_ratio_bomb(tmp_path: Path, home: Path) -> None:
    arc = tmp_path / "bomb.zip"
    with zipfile.ZipFile(arc, "w", zipfile.ZIP_DEFLATED) as z, z.open("zeros", "w") as f:
        block = b"\0" * (1 << 20)
        for _ in range(64):
            f.write(block)
    assert arc.stat().st_size < 200_000
    with pytest.raises(ArchiveBomb, match="expands more than"):
        _unpack(arc, home)
    _unharmed(home, tmp_path)


def test_many_members(tmp_path: Path, home: Path) -> None:
    arc = _zip(tmp_path / "many.zip", {f"f{i}": b"x" for i in range(60)})
    with pytest.raises(ArchiveBomb, match="more than 50 members"):
        _unpack(arc, home, ArchiveLimits(max_members=50))
    _unharmed(home, tmp_path)


def test_deep_nesting(tmp_path: Path, home: Path) -> None:
    data = b"core"
    for i in range(6):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr(f"level{i}.zip" if i else "core.bin", data)
        data = buf.getvalue()
    (tmp_path / "deep.zip").write_bytes(data)
    with pytest.raises(ArchiveBomb, match="nested deeper than 4"):
        _unpack(tmp_path / "deep.zip", home)
    _unharmed(home, tmp_path)


def test_huge_declared_size_and_total_bytes(tmp_path: Path, home: Path) -> None:
    # a tar header declaring 5 GB (only the header: the archive is truncated after it)
    info = tarfile.TarInfo("huge.bin")
    info.size = 5 * 1024**3
    (tmp_path / "huge.tar").write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)
    with pytest.raises(ArchiveBomb, match="declares 5,368,709,120 bytes"):
        _unpack(tmp_path / "huge.tar", home)
    arc = _tar(tmp_path / "big.tar", {f"f{i}": os.urandom(40_000) for i in range(5)})
    with pytest.raises(ArchiveBomb, match="unpacks to more than 100,000 bytes"):
        _unpack(arc, home, ArchiveLimits(max_total_bytes=100_000))
    _unharmed(home, tmp_path)


# ---------------------------------------------------------------- traversal and links


@pytest.mark.parametrize(
    ("name", "match"),
    [("../evil", "path traversal"), ("a/../../evil", "path traversal"), ("/tmp/evil", "absolute")],
)
def test_traversal_names(tmp_path: Path, home: Path, name: str, match: str) -> None:
    arc = _tar(tmp_path / "t.tar", {"ok.txt": b"fine", name: b"pwned"})
    with pytest.raises(UnsafeArchive, match=match):
        _unpack(arc, home)
    zarc = _zip(tmp_path / "t.zip", {name: b"pwned"})
    with pytest.raises(UnsafeArchive, match=match):
        _unpack(zarc, home)
    _unharmed(home, tmp_path)


@pytest.mark.parametrize("kind", ["symlink", "hardlink"])
def test_link_escapes(tmp_path: Path, home: Path, kind: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    arc = tmp_path / "links.tar"
    with tarfile.open(arc, "w") as t:
        link = tarfile.TarInfo("escape")
        link.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
        link.linkname = "../../outside" if kind == "symlink" else str(outside / "evil")
        t.addfile(link)
        member = tarfile.TarInfo("escape/evil")
        member.size = 5
        t.addfile(member, io.BytesIO(b"pwned"))
    match = "through symbolic link 'escape'" if kind == "symlink" else "points outside"
    with pytest.raises(UnsafeArchive, match=match):
        _unpack(arc, home)
    assert list(outside.iterdir()) == []
    _unharmed(home, outside)


def test_links_to_the_system_are_skipped_not_followed(tmp_path: Path, home: Path) -> None:
    """A Debian package links usr/lib/ssl/cert.pem to /etc/ssl/...: harmless, as links are
    never created; the members around it are read."""
    arc = tmp_path / "pkg.tar"
    with tarfile.open(arc, "w") as t:
        s = tarfile.TarInfo("usr/lib/ssl/cert.pem")
        s.type = tarfile.SYMTYPE
        s.linkname = "/etc/ssl/certs/ca-certificates.crt"
        t.addfile(s)
        f = tarfile.TarInfo("usr/bin/openssl")
        f.size = 3
        t.addfile(f, io.BytesIO(b"elf"))
    assert _unpack(arc, home) == {"usr/bin/openssl": b"elf"}
    assert not (home / "tmp" / "usr").exists()


def test_member_names_are_labels_only(tmp_path: Path, home: Path) -> None:
    files = {".hidden/cfg": b"a", "./dot/x": b"b", "a/../b/y": b"c", "C:/win.ini": b"d"}
    with pytest.raises(UnsafeArchive, match="absolute path"):
        _unpack(_tar(tmp_path / "n.tar", files), home)
    del files["C:/win.ini"]
    assert _unpack(_tar(tmp_path / "n.tar", files), home) == {
        ".hidden/cfg": b"a",
        "dot/x": b"b",
        "b/y": b"c",
    }


def test_links_inside_the_archive_are_skipped(tmp_path: Path, home: Path) -> None:
    arc = tmp_path / "ok.tar"
    with tarfile.open(arc, "w") as t:
        f = tarfile.TarInfo("bin/real")
        f.size = 4
        t.addfile(f, io.BytesIO(b"real"))
        s = tarfile.TarInfo("bin/alias")
        s.type = tarfile.SYMTYPE
        s.linkname = "real"
        t.addfile(s)
    assert _unpack(arc, home) == {"bin/real": b"real"}


# ---------------------------------------------------------------- damaged and encrypted


def test_truncated_archive(tmp_path: Path, home: Path) -> None:
    whole = _tar(tmp_path / "w.tar.xz", {"a": os.urandom(200_000)}, "w:xz").read_bytes()
    (tmp_path / "cut.tar.xz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InvalidInput, match="damaged or truncated"):
        _unpack(tmp_path / "cut.tar.xz", home)
    zwhole = _zip(tmp_path / "w.zip", {"a": os.urandom(100_000)}).read_bytes()
    (tmp_path / "cut.zip").write_bytes(zwhole[: len(zwhole) // 2])
    with pytest.raises(InvalidInput, match="damaged or truncated"):
        _unpack(tmp_path / "cut.zip", home)
    _unharmed(home, tmp_path)


def test_encrypted_zip_names_its_members(tmp_path: Path, home: Path) -> None:
    src = tmp_path / "src"
    (src / "game").mkdir(parents=True)
    (src / "game" / "level1.pak").write_bytes(os.urandom(500))
    arc = tmp_path / "locked.zip"
    if shutil.which("zip"):
        subprocess.run(["zip", "-q", "-P", "secret", "-r", str(arc), "game"], cwd=src, check=True)
    else:
        with libarchive.file_writer(
            str(arc), "zip", options="encryption=zipcrypt", passphrase="secret"
        ) as w:
            w.add_file_from_memory("game/level1.pak", 500, os.urandom(500))
    with pytest.raises(EncryptedArchive, match=r"encrypted archive.*game/level1\.pak"):
        _unpack(arc, home)
    _unharmed(home, tmp_path)


@pytest.mark.parametrize("header_encryption", [False, True])
def test_encrypted_7z(tmp_path: Path, home: Path, header_encryption: bool) -> None:
    arc = tmp_path / "locked.7z"
    with py7zr.SevenZipFile(arc, "w", password="secret", header_encryption=header_encryption) as z:
        z.writestr(os.urandom(500), "game/level1.pak")
    expected = "member names are encrypted too" if header_encryption else r"game/level1\.pak"
    with pytest.raises(EncryptedArchive, match=expected):
        _unpack(arc, home)
    _unharmed(home, tmp_path)


def test_not_an_archive(tmp_path: Path, home: Path) -> None:
    (tmp_path / "fake.gz").write_bytes(b"\x1f\x8b" + b"not gzip at all" * 10)
    with pytest.raises(InvalidInput):
        _unpack(tmp_path / "fake.gz", home)
    _unharmed(home, tmp_path)


RAR = Path(__file__).parent / "fixtures" / "rar"


def test_rar_archives(home: Path, tmp_path: Path) -> None:
    got = _unpack(RAR / "rar3-subdirs.rar", home)
    assert {k: len(v) for k, v in got.items()} == {
        "sub/dir1/file1.txt": 6,
        "sub/dir2/file2.txt": 6,
        "sub/with space/long fn.txt": 8,
        "sub/üȵĩöḋè/file.txt": 5,
    }
    solid = _unpack(RAR / "rar5-solid.rar", home)
    assert sorted(solid) == ["stest1.txt", "stest2.txt"]
    assert all(len(v) == 2048 for v in solid.values())
    with pytest.raises(UnsafeArchive, match="through symbolic link 'up'"):
        _unpack(RAR / "rar5-evil-symlink-traversal.rar", home)
    with pytest.raises(EncryptedArchive, match="member names are encrypted too"):
        _unpack(RAR / "rar5-hpsw.rar", home)
    with pytest.raises(EncryptedArchive, match=r"stest1\.txt, stest2\.txt"):
        _unpack(RAR / "rar5-psw-blake.rar", home)
    _unharmed(home, tmp_path)
