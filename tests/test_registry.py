"""Registry of works on SQLite and PostgreSQL: add, list, show, remove, import, recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from jianwang import Jianwang, WorkInput
from jianwang.domain import Duplicate, InvalidInput, NotFound, Verdict, WorkStatus
from jianwang.fingerprint.base import methods
from jianwang.store.models import FingerprintRow

from .conftest import demo_chapters


def _add(jw: Jianwang, path: Path, title: str | None = None, owner: str = "Tang Press"):
    return jw.registry.add_work(
        WorkInput(
            [path],
            "literature",
            title or path.stem,
            owner,
            {"isbn": "978-0-306-40615-7"},
            "2020-01-31",
        )
    )


def test_register_and_identify_exact_copy(jw: Jianwang) -> None:
    ch = demo_chapters()[0]
    work = _add(jw, ch)
    assert work.id == "W000001" and work.identifiers["isbn"] == "9780306406157"
    assert work.release_date is not None and work.release_date.isoformat() == "2020-01-31"
    ident = jw.identify(ch.read_bytes(), "copy.txt")
    [m] = ident.matches
    assert m.work_id == work.id and m.verdict == Verdict.MATCH and m.score > 0.95
    text = ch.read_text(encoding="utf-8")
    covered = sum(s.query[1] - s.query[0] for s in m.segments)
    assert covered > 0.9 * len(text.strip())
    for s in m.segments:  # reference offsets point at the same characters in the reference
        assert (
            text[int(s.query[0]) : int(s.query[1])]
            == text[int(s.reference[0]) : int(s.reference[1])]
        )


def test_duplicates_are_refused_but_other_owners_may_register(jw: Jianwang) -> None:
    ch = next(c for c in demo_chapters() if "poetry" in c.name)
    first = _add(jw, ch)
    with pytest.raises(Duplicate, match=first.id):
        _add(jw, ch)
    other = _add(jw, ch, owner="Another Press")
    assert other.id != first.id

    def blobs() -> int:
        return sum(
            1
            for p in (jw.settings.home / "blobs").rglob("*")
            if p.is_file() and p.parent.name != "tmp"
        )

    # the same bytes are stored once (a UTF-8 file is its own text rendition)
    assert blobs() == 1
    gbk = jw.settings.home.parent / "gbk.txt"
    gbk.write_bytes(ch.read_text(encoding="utf-8").encode("gb18030"))
    _add(jw, gbk, title="GBK copy")
    assert blobs() == 2  # the GBK bytes are new, their rendition is not


def test_list_show_filter_sort_paginate(jw: Jianwang) -> None:
    chapters = demo_chapters()[:4]
    for i, ch in enumerate(chapters):
        _add(jw, ch, title=f"Title {3 - i}", owner="A" if i % 2 else "B")
    works, total = jw.registry.list_works(limit=2)
    assert total == 4 and [w.id for w in works] == ["W000001", "W000002"]
    works, _ = jw.registry.list_works(sort="title")
    assert [w.title for w in works] == ["Title 0", "Title 1", "Title 2", "Title 3"]
    works, total = jw.registry.list_works(owner="A")
    assert total == 2 and {w.owner for w in works} == {"A"}
    works, total = jw.registry.list_works(query="e 3")
    assert [w.title for w in works] == ["Title 3"]
    shown = jw.registry.get_work("w2")
    assert shown.id == "W000002" and shown.assets[0].filename == chapters[1].name
    with pytest.raises(NotFound):
        jw.registry.get_work("W000099")
    with pytest.raises(InvalidInput):
        jw.registry.get_work("S000001")
    with pytest.raises(InvalidInput, match="sort"):
        jw.registry.list_works(sort="owner; drop table works")


def test_remove_tombstones_the_work(jw: Jianwang) -> None:
    a, b = demo_chapters()[:2]
    wa, wb = _add(jw, a), _add(jw, b)
    jw.registry.remove_work(wa.id)
    assert jw.identify(a.read_bytes()).matches == ()
    assert [m.work_id for m in jw.identify(b.read_bytes()).matches] == [wb.id]
    assert jw.registry.get_work(wa.id).status == WorkStatus.REMOVED
    assert jw.registry.list_works()[1] == 1
    assert jw.registry.list_works(status="removed")[1] == 1
    with pytest.raises(NotFound, match="already removed"):
        jw.registry.remove_work(wa.id)
    # still gone after compaction and after reopening
    for m in methods().values():
        jw.indexes.for_method(m).compact()
    again = Jianwang.open(home=jw.settings.home, database_url=jw.settings.database_url)
    assert again.identify(a.read_bytes()).matches == ()
    again.close()


def test_bad_registrations_leave_nothing_behind(jw: Jianwang, tmp_path: Path) -> None:
    good = _add(jw, demo_chapters()[0])
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(bytes(range(256)) * 50)
    cases = [
        (WorkInput([empty], "literature", "E", "O"), "empty"),
        (WorkInput([garbage], "literature", "G", "O"), "binary"),
        (WorkInput([tmp_path / "missing.txt"], "literature", "M", "O"), "cannot read"),
        (WorkInput([demo_chapters()[1]], "novel", "T", "O"), "unknown work type"),
        (WorkInput([demo_chapters()[1]], "literature", " ", "O"), "title"),
        (WorkInput([demo_chapters()[1]], "literature", "T", "O", {"isbn": "123"}), "ISBN"),
        (WorkInput([demo_chapters()[1]], "literature", "T", "O", {}, "31/01/2020"), "date"),
    ]
    for inp, msg in cases:
        with pytest.raises(InvalidInput, match=msg):
            jw.registry.add_work(inp)
    works, total = jw.registry.list_works(status="all")
    assert total == 1 and works[0].id == good.id


def test_interrupted_registration_is_resumed_once(jw: Jianwang) -> None:
    a, b = demo_chapters()[:2]
    # phase 1 only: what a crash between the commit and the index write leaves behind
    prepared = jw.registry._prepare(WorkInput([a], "literature", "A", "O"))
    [wid] = jw.registry._commit([prepared])
    jw.registry._pending_fps.clear()
    # a crash *after* the index write but before the state change: postings already there
    with jw.sessions() as s:
        row = s.scalars(select(FingerprintRow)).one()
    fp = prepared.assets[0].fingerprints[0]
    index = jw.indexes.for_method(fp.method)
    index.add(row.id, fp.fingerprints.codes, fp.fingerprints.positions)
    assert jw.identify(a.read_bytes()).matches == ()  # pending is invisible

    fresh = Jianwang.open(home=jw.settings.home, database_url=jw.settings.database_url)
    fresh.registry.add_work(WorkInput([b], "literature", "B", "O"))  # resumes pending first
    [m] = fresh.identify(a.read_bytes()).matches
    assert m.work_id == wid
    hits = fresh.indexes.for_method(fp.method).lookup(fp.fingerprints.codes)
    live = np.unique(hits.doc)
    assert len(live) == 1  # the stale doc id is tombstoned: no doubled postings
    fresh.close()


def test_import_manifest_is_resumable(jw: Jianwang, tmp_path: Path) -> None:
    chapters = demo_chapters()
    lines = ["file,type,title,owner,isbn,release_date"]
    for i, ch in enumerate(chapters):
        lines.append(f"{ch},literature,Chapter {i},Tang Press,,2001-01-0{1 + i % 9}")
    lines.append(f"{tmp_path / 'missing.txt'},literature,Missing,Tang Press,,")
    lines.append(f"{chapters[0]},literature,Bad date,Tang Press,,yesterday")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[tuple[int, int]] = []
    first = jw.registry.import_manifest(manifest, lambda d, t: seen.append((d, t)), batch=3)
    assert len(first.added) == len(chapters)
    assert [line for line, _ in first.failed] == [len(chapters) + 2, len(chapters) + 3]
    assert seen[-1] == (len(chapters) + 2, len(chapters) + 2)
    second = jw.registry.import_manifest(manifest)
    assert second.added == [] and len(second.skipped) == len(chapters)
    assert jw.registry.list_works()[1] == len(chapters)
    for i, ch in enumerate(chapters):
        top = jw.identify(ch.read_bytes()).matches[0]
        assert top.title == f"Chapter {i}"


def test_manifest_without_required_columns(jw: Jianwang, tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text("file,title\nx.txt,X\n")
    with pytest.raises(InvalidInput, match="owner"):
        jw.registry.import_manifest(m)


def test_schema_is_migrated_once(jw: Jianwang) -> None:
    from alembic.runtime.migration import MigrationContext

    with jw.db.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0003"
    again = Jianwang.open(home=jw.settings.home, database_url=jw.settings.database_url)
    again.close()


def test_fingerprints_of_an_older_method_version_are_rebuilt(jw: Jianwang) -> None:
    from sqlalchemy import update

    ch = demo_chapters()[0]
    work = _add(jw, ch)
    method = next(iter(methods().values()))
    old_dir = jw.settings.home / "index" / f"{method.name}-v{method.version - 1}"
    old_dir.mkdir(parents=True)
    # what a home written by the previous release looks like: manifests of version - 1
    with jw.sessions.begin() as s:
        s.execute(update(FingerprintRow).values(version=method.version - 1))
    assert jw.registry.has_stale_fingerprints()
    again = Jianwang.open(home=jw.settings.home, database_url=jw.settings.database_url)
    assert not again.registry.has_stale_fingerprints()
    assert not old_dir.exists()
    [m] = again.identify(ch.read_bytes()).matches
    assert m.work_id == work.id
    assert again.registry.rebuild_index() == 1  # a full rebuild works on current versions too
    assert [x.work_id for x in again.identify(ch.read_bytes()).matches] == [work.id]
    again.close()


def test_concurrent_first_use_of_a_home(tmp_path: Path) -> None:
    """Several processes opening a new home at once: one migrates, the others wait."""
    import subprocess
    import sys

    code = "import sys; from jianwang import Jianwang; Jianwang.open(home=sys.argv[1]).close()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "home")], stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-500:]
    again = Jianwang.open(home=tmp_path / "home")
    assert again.registry.list_works()[1] == 0
    again.close()
