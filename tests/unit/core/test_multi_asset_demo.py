"""Seed 000's multi-asset example (real_trade/examples/multi_asset_demo.py) runs as written,
offline, on the real candle files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from real_trade.errors import ConfigError
from real_trade.examples import multi_asset_demo


def _data_dir() -> Path | None:
    env = os.environ.get("RT_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3].parent / "shared" / "data")
    return next(
        (c for c in candidates if all((c / f).is_file() for f in multi_asset_demo.FILES)), None
    )


DATA = _data_dir()


@pytest.mark.skipif(DATA is None, reason="real candle files not found: set RT_DATA_DIR")
def test_the_seed_example_runs_on_real_candles(capsys: pytest.CaptureFixture[str]) -> None:
    result = multi_asset_demo.main(["--data-dir", str(DATA)])
    assert result["bars"] == 21 * 24  # 1-21 March 2023, hourly
    # the seed's addcommissioninfo(info, data1) took effect, and ES got its own scheme
    assert result["comminfo"] == {
        "AAPL": "MultiAssetCommissionInfo",
        "ES_FUTURE": "MultiAssetCommissionInfo",
    }
    fills_es = result["commission"]["ES_FUTURE"] / 2.25  # per contract, whole contracts
    assert fills_es > 0 and fills_es == pytest.approx(round(fills_es))
    assert result["commission"]["AAPL"] >= 1.0  # at least one per-share minimum
    assert result["peak_margin"]["ES_FUTURE"] > 0
    # the future's margin is 10% of its notional: far below the stock's, paid in full
    assert result["peak_margin"]["ES_FUTURE"] < result["peak_margin"]["AAPL"]
    assert -1 <= result["correlation"]["AAPL|ES_FUTURE"] <= 1
    assert result["final_value"] != result["start_cash"]
    assert "hourly bars" in capsys.readouterr().out


def test_without_data_the_demo_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RT_DATA_DIR", raising=False)
    monkeypatch.setenv("RT_HISTORY_DIR", str(tmp_path / "history"))
    monkeypatch.setattr(multi_asset_demo, "FILES", ("absent-1.csv", "absent-2.csv"))
    with pytest.raises(ConfigError, match="real-trade download"):
        multi_asset_demo.load_frames(tmp_path)
