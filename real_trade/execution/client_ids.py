"""Deterministic client order ids: ``rt-<run prefix>-<sequence>``, within the venue's limits.

Every order real_trade sends carries a client order id built from a *run id* (the strategy's or
the deployment's stable name) and a sequence number. Given the same run id and sequence the id
is the same, so a restarted bot that resumes its sequence (from its journal, or from the open
orders the exchange still knows, see :meth:`ClientOrderIds.observe`) never sends an id twice and
can always look an order up by the id it meant to send. The id fits the venue's maximum length
(``client_order_id_max_len`` in the venue table) and uses only letters, digits and the separator.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from typing import Any

__all__ = ["DEFAULT_MAX_LENGTH", "ClientOrderIds", "run_prefix"]

DEFAULT_MAX_LENGTH = 32
"""The length used when the venue table gives none (the shortest of the first-class venues)."""

_SAFE = re.compile(r"[^A-Za-z0-9]")
_MIN_SEQUENCE_DIGITS = 4
_HEAD = "rt"


def run_prefix(run_id: str, max_chars: int) -> str:
    """Return a short, id-safe prefix for ``run_id``: its letters and digits, or a hash.

    A run id made of at most ``max_chars`` letters and digits is used as it is; any other one
    becomes its first letters and digits plus a 6-character hash of the whole id, so two
    different run ids still get different prefixes. ``max_chars`` must be at least 8.
    """
    if max_chars < 8:
        raise ValueError(f"max_chars must be at least 8, got {max_chars}")
    cleaned = _SAFE.sub("", run_id)
    if not cleaned:
        raise ValueError(f"run id {run_id!r} has no letters or digits; pass a name like 'sma'")
    if len(cleaned) <= max_chars and cleaned == run_id:
        return cleaned
    digest = hashlib.blake2b(run_id.encode(), digest_size=8).hexdigest()[:6]
    return cleaned[: max_chars - 6] + digest


class ClientOrderIds:
    """Issues ``rt-<prefix>-<sequence>`` client order ids, thread-safe and restart-stable.

    ``run_id`` names the run (``None``: a time-based one, unique per start but not stable, so
    pass one for restart safety); ``max_length`` is the venue's limit; ``separator`` joins the
    parts (some venues accept letters and digits only: pass ``""``); ``start`` is the first
    sequence number. :meth:`sequence_of` parses an id back, :meth:`observe` moves the sequence
    past an id seen at the exchange.
    """

    def __init__(
        self,
        run_id: str | None = None,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        separator: str = "-",
        start: int = 1,
    ) -> None:
        """Create the generator; ValueError for a limit too short or a bad separator."""
        if separator not in ("", "-", "_"):
            raise ValueError(f"separator must be '', '-' or '_', got {separator!r}")
        if start < 1:
            raise ValueError(f"start must be >= 1, got {start}")
        self.run_id = run_id if run_id is not None else _time_run_id()
        self.separator = separator
        self.max_length = int(max_length)
        fixed = len(_HEAD) + 2 * len(separator) + _MIN_SEQUENCE_DIGITS
        if self.max_length < fixed + 8:
            raise ValueError(f"max_length {max_length} is too short for client order ids")
        self.prefix = run_prefix(self.run_id, min(16, self.max_length - fixed))
        self._head = f"{_HEAD}{separator}{self.prefix}{separator}"
        self._next = int(start)
        self._lock = threading.Lock()

    @classmethod
    def for_venue(cls, venue: Any, run_id: str | None = None, start: int = 1) -> ClientOrderIds:
        """Build the generator for a :class:`~real_trade.venues.spec.VenueSpec` (its quirks)."""
        quirks = getattr(venue, "quirks", {}) or {}
        return cls(
            run_id,
            max_length=int(quirks.get("client_order_id_max_len", DEFAULT_MAX_LENGTH)),
            separator=str(quirks.get("client_order_id_separator", "-")),
            start=start,
        )

    @property
    def next_sequence(self) -> int:
        """The sequence number the next id will carry."""
        with self._lock:
            return self._next

    def format(self, sequence: int) -> str:
        """Return the id of ``sequence`` (zero-padded to 4 digits); ValueError when too long."""
        if sequence < 1:
            raise ValueError(f"sequence must be >= 1, got {sequence}")
        text = f"{self._head}{sequence:0{_MIN_SEQUENCE_DIGITS}d}"
        if len(text) > self.max_length:
            raise ValueError(f"client order id {text!r} exceeds the venue's {self.max_length}")
        return text

    def next(self) -> str:
        """Return the next id and advance the sequence."""
        with self._lock:
            sequence = self._next
            self._next += 1
        return self.format(sequence)

    def sequence_of(self, client_order_id: str | None) -> int | None:
        """The sequence of an id this run issued, or None for anybody else's id."""
        if not client_order_id or not client_order_id.startswith(self._head):
            return None
        tail = client_order_id[len(self._head) :]
        return int(tail) if tail.isdigit() else None

    def observe(self, client_order_id: str | None) -> bool:
        """Move the sequence past ``client_order_id`` if this run issued it; True if it did."""
        sequence = self.sequence_of(client_order_id)
        if sequence is None:
            return False
        with self._lock:
            self._next = max(self._next, sequence + 1)
        return True

    def __repr__(self) -> str:
        """Show the run prefix and the next sequence."""
        return f"ClientOrderIds(prefix={self.prefix!r}, next={self.next_sequence})"


def _time_run_id() -> str:
    """A run id from the start time (base 36 of ms), unique per start on one machine."""
    ms = time.time_ns() // 1_000_000
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while ms:
        ms, rem = divmod(ms, 36)
        out = digits[rem] + out
    return out
