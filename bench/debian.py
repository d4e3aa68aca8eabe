"""Debian packages as benchmark material: ``apt-get download`` + ``dpkg -x`` into a cache
(nothing installed), shared by the corpus builders."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path


class FetchError(RuntimeError):
    """A package could not be downloaded or unpacked."""


def run(cmd: Sequence[str], cwd: Path | None = None) -> None:
    try:
        subprocess.run(list(cmd), cwd=cwd, check=True, text=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        tail = " | ".join((e.stderr or e.stdout or "").strip().splitlines()[-3:])
        raise FetchError(f"{' '.join(cmd)} failed: {tail}") from e


def fetch(
    package: str, cache: Path, log: Callable[[str], None], version: str | None = None
) -> tuple[Path, str]:
    """``apt-get download`` + ``dpkg -x`` ``package`` (or ``package=version``: one of the
    versions ``apt-cache madison`` lists) under ``cache`` (``downloads/`` and
    ``extracted/<package>/``, or ``extracted/<package>_<version>/``, where ``.done`` marks a
    complete extraction); returns the extracted root and the package's version."""
    downloads = cache / "downloads"
    dest = cache / "extracted" / (package if version is None else f"{package}_{version}")
    downloads.mkdir(parents=True, exist_ok=True)
    quoted = "*" if version is None else version.replace(":", "%3a")
    debs = sorted(downloads.glob(f"{package}_{quoted}_*.deb"))
    if not debs:
        spec = package if version is None else f"{package}={version}"
        log(f"apt-get download {spec}")
        try:
            run(["apt-get", "download", spec], cwd=downloads)
        except FetchError:
            log("apt-get update (package lists may be missing)")
            run(["apt-get", "update"])
            run(["apt-get", "download", spec], cwd=downloads)
        debs = sorted(downloads.glob(f"{package}_{quoted}_*.deb"))
        if not debs:
            raise FetchError(f"apt-get download {package} produced no .deb")
    version = debs[-1].name.split("_")[1].replace("%3a", ":")
    if not (dest / ".done").exists():
        log(f"dpkg -x {debs[-1].name}")
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        run(["dpkg", "-x", str(debs[-1]), str(dest)])
        (dest / ".done").write_text(debs[-1].name + "\n")
    return dest, version
