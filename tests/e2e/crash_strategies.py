"""A strategy the "no secret leaves" test names by dotted path: it trades, then crashes."""

from __future__ import annotations

from tests.e2e.cli_strategies import FlipOnLiveBars

__all__ = ["CrashAfterTrading", "ForcedCrash"]


class ForcedCrash(BaseException):
    """Not an ``Exception``: nothing on the way catches it, so the process dies with Python's
    own traceback on stderr, as an unexpected crash would."""


class CrashAfterTrading(FlipOnLiveBars):
    """Trades like :class:`FlipOnLiveBars`, then raises on live bar ``crash_at`` (a forced
    crash, so that the run's traceback is among what the test scans)."""

    params = (("crash_at", 4),)

    def __init__(self) -> None:
        super().__init__()
        self.live_bars = 0

    def next(self) -> None:
        """Trade, and raise on the ``crash_at``-th live bar."""
        if self.live:
            self.live_bars += 1
            if self.live_bars >= self.p.crash_at:
                raise ForcedCrash("forced crash of the no-secret-leaves test")
        super().next()
