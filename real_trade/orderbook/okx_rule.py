"""OKX v5's ``books`` rule: ``seqId``/``prevSeqId`` continuity and the CRC-32 checksum.

The snapshot carries ``prevSeqId == -1``; every update's ``prevSeqId`` must equal the previous
message's ``seqId`` (an update with ``seqId == prevSeqId`` changes nothing). An update whose
``seqId`` is at or below the book's is a duplicate or a late one: skipped; any other break, or a
``seqId`` lower than its own ``prevSeqId`` (the venue reset its sequence), is a gap. After each
message the book's top 25 levels must hash to the message's ``checksum``: the signed CRC-32 of
``bidPx:bidSz:askPx:askSz:...`` interleaved level by level, over the strings as sent.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from real_trade.orderbook.rules import Verdict

__all__ = ["OKXRule", "okx_checksum"]


class OKXRule:
    """Judge OKX book updates against the book's ``seqId`` (see the module docstring)."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        """A rule that has seen no snapshot yet."""
        self.last: int | None = None

    def reset(self, seq_id: int) -> None:
        """A snapshot with ``seqId`` was loaded."""
        self.last = seq_id

    def check(self, seq_id: int, prev_seq_id: int) -> Verdict:
        """The verdict on an update ``seqId``/``prevSeqId``; on APPLY the rule moves on."""
        last = self.last
        if last is None or seq_id < prev_seq_id:
            return Verdict.GAP
        if prev_seq_id == last:
            self.last = seq_id
            return Verdict.APPLY
        if seq_id <= last:
            return Verdict.SKIP
        return Verdict.GAP


def okx_checksum(
    bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]], depth: int = 25
) -> int:
    """OKX's signed CRC-32 over the best ``depth`` bids (highest first) and asks (lowest
    first), interleaved, the longer side's rest appended; prices and sizes as the venue's
    strings."""
    parts: list[str] = []
    for i in range(depth):
        if i < len(bids):
            parts.extend(bids[i])
        if i < len(asks):
            parts.extend(asks[i])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc
