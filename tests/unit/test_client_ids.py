"""Deterministic client order ids: format, restart stability, venue limits, resumption."""

from __future__ import annotations

import re
import threading

import pytest

from real_trade.execution.client_ids import ClientOrderIds, run_prefix
from real_trade.venues.spec import BINANCE, BYBIT, OKX

BINANCE_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


def test_ids_are_rt_prefix_sequence_and_start_at_one() -> None:
    ids = ClientOrderIds("sma")
    assert [ids.next() for _ in range(3)] == ["rt-sma-0001", "rt-sma-0002", "rt-sma-0003"]
    assert ids.next_sequence == 4


def test_same_run_id_gives_the_same_ids_after_a_restart() -> None:
    first = ClientOrderIds("grid-bot_7")
    before = [first.next() for _ in range(5)]
    restarted = ClientOrderIds("grid-bot_7")
    assert [restarted.next() for _ in range(5)] == before
    assert ClientOrderIds("grid-bot_8").next() != before[0]


def test_resuming_from_a_sequence_never_reissues_an_id() -> None:
    ids = ClientOrderIds("sma", start=41)
    assert ids.next() == "rt-sma-0041"
    resumed = ClientOrderIds("sma")
    assert resumed.observe("rt-sma-0041") is True
    assert resumed.next() == "rt-sma-0042"
    assert resumed.observe("rt-sma-0007") is True  # older: the sequence never goes back
    assert resumed.next() == "rt-sma-0043"


def test_ids_of_other_runs_and_other_bots_are_not_ours() -> None:
    ids = ClientOrderIds("sma")
    assert ids.sequence_of("rt-sma-0012") == 12
    assert ids.sequence_of("rt-ema-0012") is None
    assert ids.sequence_of("x-AB12cd") is None
    assert ids.sequence_of(None) is None
    assert ids.observe("web_abc123") is False
    assert ids.next() == "rt-sma-0001"


@pytest.mark.parametrize("venue", [BINANCE, BYBIT, OKX])
def test_ids_fit_the_venue_limit_even_for_long_run_ids(venue: object) -> None:
    ids = ClientOrderIds.for_venue(venue, "a very long strategy name: momentum/BTC-USDT 4h v2")
    limit = venue.quirks["client_order_id_max_len"]  # type: ignore[attr-defined]
    first = ids.next()
    assert len(ids.format(999_999)) <= limit
    assert BINANCE_CLIENT_ID.match(first)
    assert (
        ClientOrderIds.for_venue(venue, "a very long strategy name: momentum/BTC-USDT 4h v2").next()
        == first
    )


def test_different_long_run_ids_get_different_prefixes() -> None:
    a = run_prefix("momentum strategy on BTC/USDT, version 1", 12)
    b = run_prefix("momentum strategy on BTC/USDT, version 2", 12)
    assert a != b
    assert len(a) <= 12 and len(b) <= 12
    assert a.isalnum() and b.isalnum()
    assert run_prefix("sma", 12) == "sma"


def test_separator_can_be_dropped_for_alphanumeric_venues() -> None:
    ids = ClientOrderIds("sma", separator="")
    assert ids.next() == "rtsma0001"
    assert ids.sequence_of("rtsma0001") == 1


def test_without_a_run_id_each_start_gets_its_own_prefix() -> None:
    ids = ClientOrderIds()
    assert ids.prefix and ids.prefix.isalnum()
    assert ids.next().startswith(f"rt-{ids.prefix}-")


def test_ids_are_unique_across_threads() -> None:
    ids = ClientOrderIds("threads")
    seen: list[str] = []
    lock = threading.Lock()

    def take() -> None:
        mine = [ids.next() for _ in range(200)]
        with lock:
            seen.extend(mine)

    workers = [threading.Thread(target=take) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(seen) == len(set(seen)) == 800


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_length": 10}, "too short"),
        ({"separator": "/"}, "separator"),
        ({"start": 0}, "start"),
    ],
)
def test_bad_arguments_are_refused_with_the_field(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        ClientOrderIds("sma", **kwargs)  # type: ignore[arg-type]


def test_a_run_id_without_letters_or_digits_is_refused() -> None:
    with pytest.raises(ValueError, match="run id"):
        ClientOrderIds("---")


def test_a_sequence_that_no_longer_fits_is_refused() -> None:
    ids = ClientOrderIds("x" * 16, max_length=24)
    assert len(ids.format(9999)) <= 24
    with pytest.raises(ValueError, match="exceeds"):
        ids.format(10**12)
