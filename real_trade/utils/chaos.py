"""Named crash points for chaos tests: ``kill -9`` at an exact spot of the trading path.

A crash-safety claim is only as good as the places it was tested at, and a random ``SIGKILL``
rarely lands between two adjacent statements. The trading path therefore calls
:func:`crash_point` at the moments that matter (``after_intent``: the intent is journaled but
not sent; ``after_send``: the exchange took the order but its answer is not processed yet;
``after_fill``: a fill is booked but not yet published to the journal). Normally this is a
dictionary lookup and nothing else. When the environment variable ``RT_CRASH_AT`` names a point
(``after_intent:3`` = the third time that point is reached; several points separated by commas),
the process kills itself with ``SIGKILL`` there: no ``finally`` block, no flush, exactly what a
power cut or the OOM killer does. The chaos test sets it on the subprocesses it kills.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["CRASH_ENV", "CRASH_POINTS", "crash_plan", "crash_point"]

CRASH_ENV = "RT_CRASH_AT"
"""The environment variable holding the crash plan (``name:count[,name:count...]``)."""

CRASH_POINTS = ("after_intent", "after_send", "after_fill", "history_flushed")
"""The points the trading path declares (and ``history_flushed``: a history cache file was
just written during a download)."""

_lock = threading.Lock()
_hits: dict[str, int] = {}
_plan: dict[str, int] | None = None


def crash_plan(text: str | None = None) -> dict[str, int]:
    """Parse a crash plan (default: ``$RT_CRASH_AT``) into ``{point: nth hit}``.

    ValueError names an unknown point or a count that is not a positive integer.
    """
    raw = os.environ.get(CRASH_ENV, "") if text is None else text
    plan: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, _, count = part.partition(":")
        if name not in CRASH_POINTS:
            raise ValueError(f"{CRASH_ENV}: unknown crash point {name!r}; one of {CRASH_POINTS}")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{CRASH_ENV}: {part!r} needs a positive count, e.g. {name}:1")
        plan[name] = int(count)
    return plan


def crash_point(name: str) -> None:
    """Die with SIGKILL if the crash plan says this is the hit of ``name`` to die at."""
    global _plan
    plan = _plan
    if plan is None:
        plan = _plan = crash_plan()
    if not plan or name not in plan:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] != plan[name]:
            return
    os.kill(os.getpid(), signal.SIGKILL)
