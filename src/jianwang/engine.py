"""How batch work runs. `LocalEngine` (threads) is the embedded default and what tests use;
a cluster engine can replace it behind the same `map`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class LocalEngine:
    """Maps over threads: numpy and the decoders release the GIL for the heavy parts."""

    def __init__(self, workers: int = 2):
        self.workers = max(1, workers)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Results in input order; an exception in `fn` is raised when its result is reached."""
        if self.workers == 1:
            yield from map(fn, items)
            return
        with ThreadPoolExecutor(self.workers) as pool:
            yield from pool.map(fn, items)
