"""The push channel's journal follower: only what is new, each thing once."""

from __future__ import annotations

import time
from pathlib import Path

from real_trade.api.push import JournalFeed, event_topic, sse_frame
from real_trade.api.reads import JournalView
from real_trade.config import RealTradeConfig
from real_trade.persistence import Journal
from tests.unit.api.api_support import write_account


def test_the_feed_sends_new_rows_once_and_old_ones_never(tmp_path: Path) -> None:
    with Journal(f"sqlite:///{tmp_path / 'j.db'}") as journal:
        view = JournalView(journal, RealTradeConfig(run={"name": "sma"}))
        journal.record_event("risk.rejected", {"why": "before the stream"}, strategy="sma")
        journal.flush(5.0)
        feed = JournalFeed(view, since_ms=time.time_ns() // 1_000_000 + 1)
        first = feed.poll()
        assert [t for t, _ in first] == ["order", "status"]  # the current state, no history
        write_account(journal, "sma")  # fills 5 s in the past: journaled late, still new
        journal.record_event("killswitch.halted", {"summary": "halted"}, strategy="sma")
        journal.flush(5.0)
        second = feed.poll()
        topics = [t for t, _ in second]
        assert topics.count("fill") == 1 and topics.count("risk") == 1 and "order" in topics
        risk = next(d for t, d in second if t == "risk")
        assert risk["kind"] == "killswitch.halted"
        assert feed.poll() == []  # nothing new, nothing sent


def test_event_topics_and_frames() -> None:
    assert event_topic("risk.rejected") == event_topic("trading_state") == "risk"
    assert event_topic("control.done") == event_topic("api.action") == "action"
    assert event_topic("something.else") is None
    assert sse_frame("fill", {"a": 1}, 7) == b'id: 7\nevent: fill\ndata: {"a": 1}\n\n'
