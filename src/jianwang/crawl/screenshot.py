"""Screenshots of captured pages in headless Chromium, rendered offline.

The page rendered is the captured body, written to a file: Chromium gets no network (every
request, loopback included, goes to a dead proxy), so a screenshot can never fetch what the
address guard refused, and shows what was captured rather than what the site serves later.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..store.blobs import BlobStore


@dataclass(frozen=True)
class Screenshotter:
    chromium: str
    tmp_root: Path
    timeout: float = 30.0
    width: int = 1280
    height: int = 1600

    @classmethod
    def find(cls, chromium: str, tmp_root: Path) -> Screenshotter | None:
        """A screenshotter when `chromium` (a path or a command name) exists, else None."""
        if not chromium:
            return None
        path = shutil.which(chromium)
        return cls(path, tmp_root) if path else None

    def render(self, html: bytes) -> bytes | None:
        """PNG bytes of the page, or None when Chromium fails or takes too long."""
        self.tmp_root.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="shot-", dir=self.tmp_root))
        try:
            page = work / "page.html"
            page.write_bytes(html)
            out = work / "shot.png"
            cmd = [
                self.chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--proxy-server=127.0.0.1:9",  # nothing listens: no request leaves
                "--proxy-bypass-list=<-loopback>",
                f"--user-data-dir={work / 'profile'}",
                f"--window-size={self.width},{self.height}",
                "--hide-scrollbars",
                f"--screenshot={out}",
                page.as_uri(),
            ]
            try:
                subprocess.run(
                    cmd,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=self.timeout,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return None
            data = out.read_bytes() if out.exists() else b""
            return data if data.startswith(b"\x89PNG") else None
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def take(self, html: bytes, blobs: BlobStore) -> str | None:
        """Render and store the screenshot; its SHA-256, or None."""
        png = self.render(html)
        if png is None:
            return None
        sha, _ = blobs.put_bytes(png)
        return sha
