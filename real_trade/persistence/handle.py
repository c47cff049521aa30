"""``open_journal``: the one owner of a journal's lifetime in a process.

A runner, a trading session and a strategy executor may all use the same journal. Each takes a
:class:`JournalHandle` from :func:`open_journal` and releases it when done; the process keeps
one entry per journal: a database URL is opened once per (URL, strategy), the journal is
attached to a bus once (unless it already was), and when the last user releases it, it is
detached from that bus (when attached here) and closed (when opened here from a URL). A
:class:`~real_trade.persistence.Journal` object handed in stays its owner's to close.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from real_trade.bus import EventBus

__all__ = ["JournalHandle", "open_journal"]

_log = logging.getLogger("real_trade.persistence")


@dataclass
class _Entry:
    """One journal of the process: its users, and what was done to it here."""

    journal: Any
    key: tuple[str, str | None] | None  # (url, strategy) when opened here from a URL
    users: int = 0
    attached_here: bool = False


_LOCK = threading.Lock()
_BY_URL: dict[tuple[str, str | None], _Entry] = {}
_BY_JOURNAL: dict[int, _Entry] = {}  # id(journal) -> entry; the entry holds the journal alive


@dataclass
class JournalHandle:
    """One user's hold on a journal (module docstring); :meth:`release` once when done."""

    journal: Any
    _entry: _Entry = field(repr=False)
    _released: bool = field(default=False, repr=False)

    @property
    def owned(self) -> bool:
        """Whether the journal was opened here from a URL (closed with its last user)."""
        return self._entry.key is not None

    def release(self) -> None:
        """Flush; the last user detaches it (when attached here) and closes it (when opened
        here). Harmless twice."""
        if self._released:
            return
        self._released = True
        flush = getattr(self.journal, "flush", None)
        try:
            if callable(flush):
                flush()
        finally:
            self._leave()

    def _leave(self) -> None:
        entry = self._entry
        with _LOCK:
            entry.users -= 1
            if entry.users > 0:
                return
            _BY_JOURNAL.pop(id(entry.journal), None)
            if entry.key is not None:
                _BY_URL.pop(entry.key, None)
        detach = getattr(entry.journal, "detach", None)
        if entry.attached_here and callable(detach):
            detach()
        if entry.key is not None:
            entry.journal.close()


def open_journal(
    spec: Any, *, bus: EventBus | None = None, strategy: str | None = None
) -> JournalHandle | None:
    """A handle on ``spec``: a database URL (opened here, once per URL and strategy), a
    journal object (shared, its owner closes it) or None/False (no journal: None). With
    ``bus`` the journal is attached to it unless it already is attached."""
    if spec is None or spec is False:
        return None
    with _LOCK:
        if isinstance(spec, str):
            key = (spec, strategy)
            entry = _BY_URL.get(key)
            if entry is None:
                from real_trade.persistence.journal import Journal

                entry = _BY_URL[key] = _Entry(Journal(spec, strategy=strategy), key)
                _BY_JOURNAL[id(entry.journal)] = entry
        else:
            entry = _BY_JOURNAL.get(id(spec))
            if entry is None:
                entry = _BY_JOURNAL[id(spec)] = _Entry(spec, None)
        entry.users += 1
        attach = getattr(entry.journal, "attach", None)
        if bus is not None and callable(attach) and not getattr(entry.journal, "attached", False):
            try:
                attach(bus)
                entry.attached_here = True
            except RuntimeError as exc:  # attached elsewhere by its owner: leave it
                _log.debug("journal already attached: %s", exc)
    return JournalHandle(entry.journal, entry)
