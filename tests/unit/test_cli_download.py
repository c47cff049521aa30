"""``real-trade download``'s argument handling (the download itself: tests/integration/history)."""

from __future__ import annotations

import pytest

from real_trade.cli import main
from real_trade.cli.commands.download import parse_time_ms
from real_trade.errors import ConfigError


def test_times_are_utc_dates_datetimes_or_epoch_ms() -> None:
    assert parse_time_ms("2023-01-01", "--from") == 1_672_531_200_000
    assert parse_time_ms("2023-01-01T01:00", "--from") == 1_672_534_800_000
    assert parse_time_ms("2023-01-01T01:00+01:00", "--from") == 1_672_531_200_000
    assert parse_time_ms("1672531200000", "--from") == 1_672_531_200_000
    with pytest.raises(ConfigError, match="--from"):
        parse_time_ms("yesterday", "--from")


def test_bad_arguments_exit_2_naming_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["download", "--symbols", "BTC/USDT", "--from", "soon"])

    assert code == 2
    assert "2023-01-01" in capsys.readouterr().err  # the form it wants
