"""`Jianwang`: the wired-up platform for one data home (the Python API the CLI wraps)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from .config import Settings
from .crawl.fetch import Fetcher
from .crawl.guard import Guard, parse_networks
from .crawl.screenshot import Screenshotter
from .domain import Identification, InvalidInput
from .engine import LocalEngine
from .identify import Identifier, Indexes
from .services.accounts import Accounts
from .services.monitor import Limits, Monitor
from .services.registry import Registry
from .services.sites import Sites
from .store.blobs import BlobStore
from .store.catalog import StoreCatalog
from .store.db import make_engine, session_factory, upgrade


class Jianwang:
    """Open with `Jianwang.open(home=...)`; close (or use as a context manager) when done."""

    def __init__(self, settings: Settings):
        self.settings = settings
        home = settings.home
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidInput(f"cannot use data home {home}: {exc.strerror or exc}") from None
        _load_normalisation_table(home / "cache")
        self.db = make_engine(settings.resolved_database_url)
        upgrade(self.db, home / "migrate.lock")
        self.sessions = session_factory(self.db)
        self.blobs = BlobStore(home / "blobs")
        self.indexes = Indexes(home / "index", settings.index_shards, settings.index_delta_limit)
        self.catalog = StoreCatalog(self.db, self.blobs)
        self.identifier = Identifier(
            self.indexes,
            self.catalog,
            settings.max_input_bytes,
            settings.max_matches,
            tmp_root=home / "tmp",
            archive_limits=settings.archive_limits(),
        )
        self.engine = LocalEngine(2)
        self.registry = Registry(
            self.sessions,
            self.blobs,
            self.indexes,
            settings.max_input_bytes,
            self.engine,
            on_removed=self.identifier.forget,
            tmp_root=home / "tmp",
            archive_limits=settings.archive_limits(),
        )
        self.sites = Sites(self.sessions)
        self.monitor = Monitor(
            self.sessions,
            self.blobs,
            self.sites,
            identify_bytes=self.identify,
            identify_path=self.identify_path,
            make_fetcher=self.make_fetcher,
            limits=Limits(
                media_max_bytes=min(settings.crawl_media_max_bytes, settings.max_input_bytes),
                media_max_seconds=float(settings.crawl_media_max_seconds),
                media_deadline=float(settings.crawl_media_deadline_seconds),
                search_titles=settings.crawl_search_titles,
            ),
            home=home,
            screenshotter=Screenshotter.find(settings.chromium, home / "tmp"),
        )
        self.accounts = Accounts(
            self.sessions, settings.login_max_failures, settings.login_lockout_seconds
        )
        if self.registry.has_stale_fingerprints():
            with self.writer():
                self.registry.upgrade_fingerprints()
        if self.registry.has_unfingerprinted():
            with self.writer():
                self.registry.backfill_fingerprints()

    @classmethod
    def open(cls, home: str | Path | None = None, **overrides: object) -> Jianwang:
        return cls(Settings.from_env(home, **overrides))

    def identify(self, data: bytes, name: str = "-") -> Identification:
        return self.identifier.identify(data, name)

    def identify_path(self, path: Path, name: str | None = None) -> Identification:
        """Identify a file; an archive is unpacked as it is read, never held in memory."""
        return self.identifier.identify_path(path, name)

    def make_fetcher(self, user_agent: str = "") -> Fetcher:
        """The monitor's fetcher: the address guard of the settings, their limits."""
        st = self.settings
        return Fetcher(
            guard=Guard(allow=parse_networks(st.crawl_allow_networks)),
            user_agent=user_agent or st.crawl_user_agent,
            timeout=float(st.crawl_timeout_seconds),
            deadline=float(st.crawl_page_seconds),
            page_max_bytes=st.crawl_page_max_bytes,
            retries=st.crawl_retries,
            backoff=float(st.crawl_backoff_seconds),
        )

    @contextlib.contextmanager
    def writer(self) -> Iterator[None]:
        """Serialise registry changes between processes sharing this home."""
        with open(self.settings.home / "registry.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Jianwang:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _load_normalisation_table(cache: Path) -> None:
    """Load the text normalisation table from the home's cache, or build and save it there
    (building costs ~0.4 s; loading a few milliseconds)."""
    import numpy as np

    from .fingerprint import normalize

    path = cache / f"normalize-v{normalize.TABLE_VERSION}.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                if normalize.install_table(dict(data)):
                    return
        except (OSError, ValueError):
            pass  # a damaged cache file is rebuilt below
    arrays = normalize.table_arrays()
    # a cache only: several processes may write it at once, each through its own file
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
