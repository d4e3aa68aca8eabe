"""Jianwang: register protected works, recognise their copies, and act on them."""

from . import _blas  # noqa: F401  (first: before numpy loads OpenBLAS)
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
