"""A separate process writing to a journal, for the multi-process and kill -9 tests.

Usage: ``python journal_writer.py URL COUNT`` writes COUNT intents (``rt-w-0000``...) and
exits; ``COUNT`` 0 writes intents, fills and snapshots until the process is killed. Every
intent id is printed (flushed) only after ``record_intent`` returned, i.e. once committed.
"""

from __future__ import annotations

import itertools
import sys

from real_trade.execution.events import FillEvent
from real_trade.persistence import AccountSnapshot, Journal, OrderIntent


def main(url: str, count: int) -> None:
    """Write intents (and, when running until killed, fills and snapshots) to ``url``."""
    with Journal(url, strategy="w") as journal:
        print("READY", flush=True)
        numbers = range(count) if count else itertools.count()
        for n in numbers:
            cid = f"rt-w-{n:04d}"
            journal.record_intent(
                OrderIntent(
                    cid,
                    "w",
                    n,
                    "BTC/USDT",
                    "buy",
                    "Limit",
                    0.1,
                    price=100.0,
                    params={"n": n, "padding": "x" * 200},
                )
            )
            print(cid, flush=True)
            if not count:
                journal.record_fill(
                    FillEvent(
                        n,
                        cid,
                        f"X{n}",
                        "BTC/USDT",
                        "buy",
                        f"T{n}",
                        100.0,
                        0.1,
                        0.0,
                        None,
                        n + 1,
                        strategy="w",
                    )
                )
                journal.record_snapshot(AccountSnapshot("w", n + 1, 100.0, 100.0 + n))
        print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
