"""Hash stores by hash kind, persisted under the data home (no database, no framework)."""

from .exact import ExactIndex

__all__ = ["ExactIndex"]
