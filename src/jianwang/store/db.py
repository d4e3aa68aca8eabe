"""Database engine and sessions; the schema is brought to head by Alembic on first use."""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # type: ignore[no-untyped-def]
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, lock_file: Path | None = None) -> None:
    """Apply pending migrations (no-op when the schema is current). Concurrent first uses
    are serialised: by `lock_file` (processes sharing a home) and, on PostgreSQL, by an
    advisory lock (processes on several machines)."""
    cfg = alembic_config(engine)
    head = ScriptDirectory.from_config(cfg).get_current_head()

    def current() -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    if current() == head:
        return
    with contextlib.ExitStack() as stack:
        if lock_file is not None:
            fh = stack.enter_context(open(lock_file, "a+"))
            fcntl.flock(fh, fcntl.LOCK_EX)
        if engine.dialect.name == "postgresql":
            conn = stack.enter_context(engine.connect())
            conn.execute(text("SELECT pg_advisory_lock(72731)"))  # any fixed key
            stack.callback(lambda: conn.execute(text("SELECT pg_advisory_unlock(72731)")))
        if current() != head:  # another process may have migrated while we waited
            command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
