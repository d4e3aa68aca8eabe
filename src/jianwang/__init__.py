"""Jianwang: register protected works, recognise their copies, and act on them."""

import os as _os

# One core per file: the engine runs files in parallel, and the hashes' small matrix
# products gain nothing from BLAS threads, which spin and burn the other cores (a query's
# crop windows took 4.3 CPU-s with OpenBLAS's threads and 0.08 s without). Set before numpy
# loads OpenBLAS; threadpoolctl limits it when numpy was loaded first.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
if _os.environ.get("JIANWANG_BLAS_THREADS", "1") == "1":
    import threadpoolctl as _threadpoolctl

    _threadpoolctl.threadpool_limits(1)

from .app import Jianwang
from .config import Settings
from .domain import (
    Identification,
    JianwangError,
    Match,
    MediaType,
    Segment,
    Verdict,
    Work,
    WorkType,
)
from .services.registry import WorkInput
from .services.sites import SiteInput

__version__ = "0.1.0"

__all__ = [
    "Identification",
    "Jianwang",
    "JianwangError",
    "Match",
    "MediaType",
    "Segment",
    "Settings",
    "SiteInput",
    "Verdict",
    "Work",
    "WorkInput",
    "WorkType",
    "__version__",
]
