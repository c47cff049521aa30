"""A book's synchronization state and the bus event that announces each change."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["BOOK_STATE_TOPIC", "BookState", "BookStateChange", "book_state_topic"]

BOOK_STATE_TOPIC = "orderbook.state"
"""Prefix of the state topics: ``orderbook.state.<venue>.<symbol>`` (subscribe
``orderbook.state.**`` for every book)."""


class BookState(str, Enum):
    """Where a book stands: waiting for its first snapshot, in step with the venue, or
    rebuilding after a gap, a failed checksum or a reconnect."""

    SYNCING = "syncing"
    SYNCED = "synced"
    RESYNCING = "resyncing"


@dataclass(frozen=True, slots=True)
class BookStateChange:
    """A book moved from ``previous`` to ``state`` for ``reason``; ``update_id`` is the book's
    update id at that moment and ``resyncs`` how many resyncs the book has needed so far."""

    venue: str
    symbol: str
    state: BookState
    previous: BookState | None
    reason: str
    update_id: int | None
    resyncs: int


def book_state_topic(venue: str, symbol: str) -> str:
    """The bus topic of one book's state changes: ``orderbook.state.<venue>.<symbol>``."""
    return f"{BOOK_STATE_TOPIC}.{venue}.{symbol.replace('.', '_')}"
