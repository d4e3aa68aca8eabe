"""Reference store: durable appends, reopening, torn records, other processes' writes."""

from __future__ import annotations

from pathlib import Path

from jianwang.index.forward import ReferenceStore


def test_put_get_persist_replace(tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path / "refs")
    store.put(1, b"one")
    store.put(2, b"two" * 1000)
    assert store.get(1) == b"one" and store.get(2) == b"two" * 1000
    store.put(1, b"uno")
    again = ReferenceStore(tmp_path / "refs")
    assert again.get(1) == b"uno" and again.get(3) is None


def test_sees_other_writers(tmp_path: Path) -> None:
    reader = ReferenceStore(tmp_path / "refs")
    assert reader.get(7) is None
    ReferenceStore(tmp_path / "refs").put(7, b"seven")
    assert reader.get(7) == b"seven"


def test_torn_record_is_ignored_and_cut(tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path / "refs")
    store.put(1, b"one")
    with open(tmp_path / "refs" / "offsets.bin", "ab") as fh:
        fh.write(b"\x02\x00\x00")  # a crash in the middle of a record
    reopened = ReferenceStore(tmp_path / "refs")
    assert reopened.get(1) == b"one" and reopened.get(2) is None
    reopened.put(2, b"two")
    assert ReferenceStore(tmp_path / "refs").get(2) == b"two"


def test_memory_twin() -> None:
    store = ReferenceStore(None)
    store.put(1, b"x")
    assert store.get(1) == b"x" and store.bytes_on_disk() == 1
