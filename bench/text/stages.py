"""Where identification time goes, stage by stage (for `scripts/bench-text --stages`).

Wraps the identify pipeline's stage functions with timers for the duration of a `with`
block; the totals are wall-clock seconds spent inside each stage (nested stages are also
counted in their parent)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jianwang.fingerprint.text as text_method
import jianwang.identify as identify
import jianwang.media as media
from jianwang.index.exact import ExactIndex

_STAGES: list[tuple[Any, str, str]] = [
    (media, "decode", "decode + main text"),
    (text_method, "normalize", "normalise"),
    (text_method, "kgram_hashes", "k-gram hashes"),
    (text_method, "winnow", "winnow"),
    (ExactIndex, "lookup", "index lookup"),
    (text_method.TextFingerprinter, "score", "score (all)"),
    (text_method, "_plausible_docs", "  candidate docs"),
    (text_method, "_align", "  align + verify"),
    (text_method, "_explain_away", "  explain away"),
]


@contextmanager
def timed_stages() -> Iterator[Counter[str]]:
    """Yield a Counter of seconds per stage, filled while the block runs."""
    spent: Counter[str] = Counter()
    saved: list[tuple[Any, str, Callable[..., Any]]] = []

    def wrap(fn: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[label] += time.perf_counter() - t0

        return timed

    for owner, name, label in _STAGES:
        fn = getattr(owner, name)
        saved.append((owner, name, fn))
        setattr(owner, name, wrap(fn, label))
    saved.append((identify.media_mod, "decode", identify.media_mod.decode))
    identify.media_mod.decode = media.decode  # the identifier calls it through its module
    try:
        yield spent
    finally:
        for owner, name, fn in reversed(saved):
            setattr(owner, name, fn)
