"""open_journal: a URL opened once per process, attached once, closed with its last user."""

from __future__ import annotations

from pathlib import Path

from real_trade.bus import EventBus
from real_trade.persistence import Journal
from real_trade.persistence.handle import open_journal


def test_a_url_is_opened_once_and_closed_when_the_last_user_releases_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    bus = EventBus(synchronous=True)
    runner = open_journal(url, bus=bus, strategy="sma")
    session = open_journal(runner.journal if runner else None, bus=bus)
    assert runner is not None and session is not None
    assert session.journal is runner.journal and runner.owned  # one journal object
    assert runner.journal.attached

    session.release()
    assert runner.journal.attached  # the runner still uses it
    runner.journal.set_state("probe", 1)
    runner.release()
    runner.release()  # harmless twice
    assert not runner.journal.attached
    again = open_journal(url, strategy="sma")
    assert again is not None and again.journal is not runner.journal  # a fresh one
    assert again.journal.get_state("probe") == 1
    again.release()


def test_a_given_journal_stays_its_owners_and_is_detached_only_when_attached_here(
    tmp_path: Path,
) -> None:
    bus = EventBus(synchronous=True)
    with Journal(f"sqlite:///{tmp_path / 'own.db'}") as journal:
        handle = open_journal(journal, bus=bus)
        assert handle is not None and journal.attached
        handle.release()
        assert not journal.attached  # attached here, so detached here
        journal.attach(bus)
        handle = open_journal(journal, bus=EventBus(synchronous=True))
        assert handle is not None
        handle.release()
        assert journal.attached  # its owner attached it: left as it was
        journal.set_state("still", "open")  # not closed by the handle
        assert journal.get_state("still") == "open"


def test_no_spec_means_no_journal() -> None:
    assert open_journal(None) is None and open_journal(False) is None
