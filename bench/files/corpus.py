"""Real binaries for the software/game benchmark, all fetched offline-capable into
``$JIANWANG_BENCH_CACHE/files`` (or ``~/.cache/jianwang-bench/files``), never the repository:

* several released versions of the same programs from Debian's pool (``apt-get download
  pkg=version`` through `bench.debian`): ``openssl`` (the program), ``libssl3``
  (``libssl.so.3``, ``libcrypto.so.3``), ``libcurl4``, ``curl``, ``libxml2``, ``liblzma5``,
  ``libexpat1`` and ``libpng16-16`` (security updates of one upstream version);
* per-version native extensions shipped in PyPI wheels (``pip download --no-deps``):
  ``orjson``, ``msgpack``, ``ujson``, ``PyYAML``, ``xxhash`` and ``MarkupSafe`` (other
  upstream versions, often built by another Cython or Rust);
* real game data: ``lbreakout2-data`` (levels, pictures, sounds), registered as a game;
* a soundtrack for "an archive of a registered album": ``singularity-music``;
* negatives: ELF files of this machine (``/usr/bin``, ``/usr/sbin``, ``/usr/lib``,
  ``/usr/libexec``), none named like a reference program and none identical to one.

The smoke corpus uses this machine's binaries only (no downloads): four programs, a game
made of generated files, gcc builds of one source as two releases when gcc exists.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.debian import fetch

#: (program, Debian package, file pattern inside it, versions oldest first)
DEBIAN: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("openssl", "openssl", "usr/bin/openssl",
     ("3.0.17-1~deb12u2", "3.0.20-1~deb12u2", "3.0.22-1~deb12u2")),
    ("libssl", "libssl3", "usr/lib/x86_64-linux-gnu/libssl.so.3",
     ("3.0.17-1~deb12u2", "3.0.20-1~deb12u2", "3.0.22-1~deb12u2")),
    ("libcrypto", "libssl3", "usr/lib/x86_64-linux-gnu/libcrypto.so.3",
     ("3.0.17-1~deb12u2", "3.0.20-1~deb12u2", "3.0.22-1~deb12u2")),
    ("libcurl", "libcurl4", "usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0",
     ("7.88.1-10+deb12u5", "7.88.1-10+deb12u15")),
    ("curl", "curl", "usr/bin/curl", ("7.88.1-10+deb12u5", "7.88.1-10+deb12u15")),
    ("libxml2", "libxml2", "usr/lib/x86_64-linux-gnu/libxml2.so.2.9.14",
     ("2.9.14+dfsg-1.3~deb12u4", "2.9.14+dfsg-1.3~deb12u6")),
    ("liblzma", "liblzma5", "lib/x86_64-linux-gnu/liblzma.so.5.4.1",
     ("5.4.1-1+deb12u1", "5.4.1-1+deb12u2")),
    ("libexpat", "libexpat1", "lib/x86_64-linux-gnu/libexpat.so.1.8.10",
     ("2.5.0-1+deb12u2", "2.5.0-1+deb12u5")),
    ("libpng", "libpng16-16", "usr/lib/x86_64-linux-gnu/libpng16.so.16.39.0",
     ("1.6.39-2+deb12u5", "1.6.39-2+deb12u6")),
)  # fmt: skip

#: (program, PyPI project, member suffix in the wheel, versions oldest first); other
#: upstream releases, built by other toolchains (Cython, Rust) than the registered one
PYPI: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("orjson", "orjson", ".so", ("3.10.0", "3.10.1", "3.10.2", "3.10.3", "3.10.4", "3.10.5")),
    ("msgpack", "msgpack", ".so", ("1.0.5", "1.0.6", "1.0.7", "1.0.8", "1.1.0")),
    ("ujson", "ujson", ".so", ("5.8.0", "5.9.0", "5.10.0")),
    ("pyyaml", "PyYAML", ".so", ("6.0.1", "6.0.2")),
    ("xxhash", "xxhash", ".so", ("3.4.1", "3.5.0")),
    ("markupsafe", "MarkupSafe", ".so", ("2.1.5", "3.0.2")),
)

GAME_PACKAGE = "lbreakout2-data"
ALBUM_PACKAGE = "singularity-music"
EXCLUDE = re.compile(
    r"ssl|crypto|curl|orjson|msgpack|ujson|yaml|xxhash|markupsafe|xml2|lzma|expat|png"
    r"|lbreakout",
    re.IGNORECASE,
)


@dataclass
class Program:
    name: str
    #: (version, file) oldest first: the first is registered, the others are other releases
    releases: list[tuple[str, Path]]
    #: where the releases come from: "debian" (security updates of one upstream version),
    #: "pypi" (other upstream versions), "gcc" (the smoke run's builds), "system"
    source: str = "system"


@dataclass
class Corpus:
    programs: list[Program]
    game_files: list[Path]
    album: Path | None
    negatives: list[Path]
    notes: list[str] = field(default_factory=list)


def default_cache_dir() -> Path:
    env = os.environ.get("JIANWANG_BENCH_CACHE")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "jianwang-bench"
    return root / "files"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _wheel_member(cache: Path, project: str, version: str, suffix: str) -> Path:
    dest = cache / "pypi" / f"{project}-{version}"
    done = dest / ".done"
    if not done.exists():
        wheels = cache / "pypi" / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "-d", str(wheels), f"{project}=={version}"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        (whl,) = [w for w in wheels.glob(f"{project}-{version}-*.whl")][:1]
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        with zipfile.ZipFile(whl) as z:
            names = sorted(n for n in z.namelist() if n.endswith(suffix) or f"{suffix}." in n)
            biggest = max(names, key=lambda n: z.getinfo(n).file_size)
            (dest / "native.so").write_bytes(z.read(biggest))
        done.write_text(biggest + "\n")
    return dest / "native.so"


def half(path: Path) -> str:
    """The half of the negatives a file falls in, by its path: "A" (the method's thresholds
    were chosen on it) or "B" (held out, to measure them)."""
    return "AB"[hashlib.sha256(str(path).encode()).digest()[0] & 1]


def negatives(
    count: int,
    exclude: set[str],
    seed: int = 0,
    roots: tuple[str, ...] = ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec"),
    max_size: int = 8_000_000,
) -> list[Path]:
    """ELF files of this machine, 8 KB–`max_size`, unlike any reference by name or content."""
    found: list[Path] = []
    seen: set[str] = set(exclude)
    for root in roots:
        for dirpath, _dirs, names in os.walk(root):
            if "python3" in dirpath and "site-packages" in dirpath:
                continue
            for n in sorted(names):
                p = Path(dirpath) / n
                if EXCLUDE.search(str(p)) or p.is_symlink() or not p.is_file():
                    continue
                size = p.stat().st_size
                if not 8_000 <= size <= max_size or not _is_elf(p):
                    continue
                found.append(p)
    random.Random(seed).shuffle(found)
    out: list[Path] = []
    for p in found:
        h = _sha(p)
        if h in seen:
            continue
        seen.add(h)
        out.append(p)
        if len(out) >= count:
            break
    return out


def build(cache: Path, smoke: bool, log: Callable[[str], None], n_negatives: int) -> Corpus:
    if smoke:
        return _smoke(cache, log, n_negatives)
    programs: list[Program] = []
    for name, package, member, versions in DEBIAN:
        rel = []
        for v in versions:
            root, _ = fetch(package, cache, log, v)
            rel.append((v, root / member))
        programs.append(Program(name, rel, "debian"))
    for name, project, suffix, versions in PYPI:
        programs.append(
            Program(name, [(v, _wheel_member(cache, project, v, suffix)) for v in versions], "pypi")
        )
    game_root, _ = fetch(GAME_PACKAGE, cache, log)
    game = sorted(
        p
        for p in game_root.rglob("*")
        if p.is_file() and p.stat().st_size >= 64 and "doc" not in p.parts
    )
    album_root, _ = fetch(ALBUM_PACKAGE, cache, log)
    tracks = sorted(p for p in album_root.rglob("*.ogg") if p.stat().st_size > 500_000)
    exclude = {_sha(f) for p in programs for _, f in p.releases}
    return Corpus(programs, game, tracks[0] if tracks else None, negatives(n_negatives, exclude))


def _smoke(cache: Path, log: Callable[[str], None], n_negatives: int) -> Corpus:
    picks = []
    for name in ("ls", "cp", "grep", "tar", "sed", "find", "sort"):
        p = Path("/usr/bin") / name
        if p.is_file() and _is_elf(p) and 60_000 < p.stat().st_size < 3_000_000:
            picks.append(p)
    programs = [Program(p.name, [("system", p)]) for p in picks[:2]]
    work = cache / "smoke"
    work.mkdir(parents=True, exist_ok=True)
    if shutil.which("gcc"):
        programs.append(Program("prog", [(f"1.{v}", _gcc_build(work, v)) for v in (1, 2)], "gcc"))
    rng = random.Random(5)
    game_dir = work / "game"
    game_dir.mkdir(exist_ok=True)
    game = []
    for i in range(6):
        p = game_dir / f"level{i}.dat"
        p.write_bytes(rng.randbytes(rng.randrange(10_000, 40_000)))
        game.append(p)
    exclude = {_sha(f) for p in programs for _, f in p.releases}
    # libraries only: a program of /usr/bin may be a sibling of a reference (dir and ls)
    negs = negatives(n_negatives, exclude, roots=("/usr/lib",), max_size=400_000)
    return Corpus(programs, game, None, negs, ["smoke: this machine's binaries"])


def _gcc_build(work: Path, version: int) -> Path:
    funcs = "\n".join(
        f"unsigned long f{i}(unsigned long x) {{ for (int k = 0; k < {i % 7 + 2}; k++) "
        f"x = x * 6364136223846793005UL + {i * 977 + version * 1_000_003}; return x ^ {i}; }}"
        for i in range(300)
    )
    calls = "\n".join(f"  acc ^= f{i}(acc);" for i in range(300))
    src = work / f"prog{version}.c"
    src.write_text(
        f"#include <stdio.h>\n{funcs}\nint main(int c, char **v) {{ unsigned long acc = c;\n"
        f'{calls}\n  printf("prog 1.{version} %lu\\n", acc); return 0; }}\n'
    )
    out = work / f"prog{version}"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(src)], check=True, capture_output=True)
    return out
