"""What a sequence rule answers about one diff: apply it, skip it, or resync the book."""

from __future__ import annotations

from enum import Enum

__all__ = ["Verdict"]


class Verdict(Enum):
    """A sequence rule's answer for one diff."""

    APPLY = "apply"
    """In sequence: apply it."""
    SKIP = "skip"
    """Already covered by the book (a duplicate, or a late one from before the snapshot)."""
    GAP = "gap"
    """Something is missing or out of order: the book can no longer be trusted; resync."""
