"""Shared fixtures. Store tests run against SQLite and, when reachable, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from jianwang import Jianwang

PG_ADMIN_URL = os.environ.get(
    "JIANWANG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "src" / "jianwang" / "demo"


def _pg_unreachable_reason() -> str | None:
    try:
        eng = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as c:
            c.execute(text("select 1"))
        eng.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"


_PG_REASON: list[str | None] = []


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    if not _PG_REASON:
        _PG_REASON.append(_pg_unreachable_reason())
    if _PG_REASON[0]:
        pytest.skip(_PG_REASON[0])
    name = f"jw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def jw(home: Path, database_url: str) -> Iterator[Jianwang]:
    """The platform on SQLite and on PostgreSQL."""
    platform = Jianwang.open(home=home, database_url=database_url)
    yield platform
    platform.close()


@pytest.fixture
def jw_sqlite(home: Path) -> Iterator[Jianwang]:
    platform = Jianwang.open(home=home)
    yield platform
    platform.close()


def demo_chapters() -> list[Path]:
    """The bundled real chapters (public-domain poetry and KJV), sorted."""
    return sorted((DEMO / "corpus").glob("*.txt"))


def unregistered_chapters() -> list[Path]:
    return sorted((DEMO / "corpus" / "unregistered").glob("*.txt"))
