"""The web dashboard in a real headless Chromium, over two paper runs sharing a journal.

Two ``real-trade run`` processes trade on the simulator with one PostgreSQL journal (the way
several runners share one); the first has
``[api] enabled`` and serves the dashboard. Playwright drives Debian's ``chromium`` (never a
downloaded browser): the page connects with a token, shows both runners side by side, shows
fills arriving over the push channel, and its kill button (confirmation accepted) halts the
runners through the journal's kill request. A third run rests a limit order, and its row's
cancel button cancels it. Screenshots are kept in the test's tmp directory.
Skipped without chromium or playwright, failed instead when ``RT_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from real_trade.api.tokens import FileTokenStore, TokenAuthority
from real_trade.engine.control import KILL_DONE_KEY, KILL_REQUEST_KEY
from real_trade.persistence import Journal
from real_trade.sim import SimExchange
from tests.conftest import journal_database
from tests.e2e.browser_support import chromium
from tests.e2e.test_cli_run import FLIP, environment, script, write_config
from tests.e2e.test_prometheus_scrape import Process
from tests.support import eventually, services_required

pytestmark = pytest.mark.integration
BOUND_S = 120
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed (pip install playwright; no `playwright install`)"
        if services_required():
            pytest.fail(f"{reason}; RT_REQUIRE_SERVICES=1 demands it")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture
def sim() -> Any:
    with SimExchange(speed=240.0, seed=21) as exchange:
        yield exchange


@pytest.fixture
def shared_journal(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database: the journal several runners share."""
    yield from journal_database("postgres", request, tmp_path)


def _config(
    tmp_path: Path, sim: SimExchange, name: str, api: bool, journal_url: str | None = None
) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    path = write_config(folder, sim, strategy=FLIP, params="size = 0.01")
    text = path.read_text(encoding="utf-8")
    text = text.replace('name = "cli-sma"', f'name = "{name}"')
    shared = journal_url or f"sqlite:///{tmp_path / 'journal.db'}"
    text = text.replace(f"sqlite:///{folder / 'journal.db'}", shared)
    text += f'file = "{tmp_path / (name + ".log")}"\n'
    if api:
        text += f'\n[api]\nenabled = true\nport = 0\ntoken_file = "{tmp_path / "tokens.json"}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def test_the_dashboard_shows_live_fills_of_two_runners_and_its_kill_button_halts_them(
    sim: SimExchange, tmp_path: Path, shared_journal: str
) -> None:
    executable = chromium()
    sync_playwright = _playwright()
    token = TokenAuthority(FileTokenStore(tmp_path / "tokens.json")).issue("trade", "browser")
    first = Process(
        [script(), "run", str(_config(tmp_path, sim, "alpha", True, shared_journal))],
        env=environment(),
    )
    second = Process(
        [script(), "run", str(_config(tmp_path, sim, "beta", False, shared_journal))],
        env=environment(),
    )
    journal = Journal(shared_journal)
    dialogs: list[str] = []
    errors: list[str] = []
    try:
        found = eventually(
            lambda: re.search(r"dashboard on (http://127\.0\.0\.1:\d+/)", first.text),
            timeout=BOUND_S,
            message=f"the run serves the dashboard:\n{first.text[-2000:]}",
        )
        url = found.group(1)
        assert token.token not in first.text  # the run never prints a token
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1500})
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on(
                    "console",
                    lambda m: errors.append(m.text) if m.type == "error" else None,
                )
                page.goto(url)
                page.fill("#token", token.token)
                page.click("#connect")
                page.wait_for_selector("#board:not([hidden])", timeout=BOUND_S * 1000)
                assert page.text_content("#mode") == "PAPER"
                page.wait_for_selector(
                    '.runner[data-strategy="alpha"] .alive', timeout=BOUND_S * 1000
                )
                page.wait_for_selector(
                    '.runner[data-strategy="beta"] .alive', timeout=BOUND_S * 1000
                )
                # fills arriving over the push channel (rows added live, not at load)
                page.wait_for_selector("#fills tr.live", timeout=BOUND_S * 1000)
                live = page.eval_on_selector_all(
                    "#fills tr.live", "rows => rows.map(r => r.dataset.trade)"
                )
                journaled = {f"{f.strategy}|{f.symbol}|{f.trade_id}" for f in journal.fills()}
                assert live and set(live) <= journaled
                page.wait_for_selector("#chart svg polyline", timeout=BOUND_S * 1000)
                page.screenshot(path=str(tmp_path / "dashboard-live.png"), full_page=True)
                page.screenshot(path=str(tmp_path / "dashboard-view.png"))

                def answer(dialog: Any) -> None:
                    dialogs.append(dialog.message)
                    dialog.accept()

                page.on("dialog", answer)
                page.click("#kill")
                page.wait_for_selector("#trading.halted", timeout=BOUND_S * 1000)
                banner = page.text_content("#trading") or ""
                page.screenshot(path=str(tmp_path / "dashboard-killed.png"), full_page=True)
                result = page.text_content("#action-result") or ""
            finally:
                browser.close()
        request = journal.get_state(KILL_REQUEST_KEY)
        assert request["all"] is True  # "all runners" was selected
        for name in ("alpha", "beta"):
            eventually(
                lambda name=name: journal.get_state(f"{KILL_DONE_KEY}:{name}") == request["id"],
                timeout=BOUND_S,
                message=f"runner {name} carried the kill request out",
            )
        eventually(
            lambda: {e.strategy for e in journal.events("killswitch.halted")} >= {"alpha", "beta"},
            timeout=BOUND_S,
            message="both kill switches journaled their halt",
        )
        assert journal.get_state("trading_state")["state"] == "halted"
        (action,) = journal.events("api.action")
        assert action.payload["action"] == "kill" and action.payload["who"].startswith(
            f"token {token.record.id} (browser)"
        )
    finally:
        journal.close()
        codes = (first.stop(), second.stop())
    assert dialogs and "KILL SWITCH" in dialogs[0] and "PAPER" in dialogs[0]
    assert errors == []  # no script error, no CSP violation, no failed request
    assert "kill request" in result and "HALTED" in banner
    assert codes == (0, 0), first.text[-3000:] + second.text[-3000:]
    assert "Traceback" not in first.text + second.text, first.text[-4000:]
    assert (tmp_path / "dashboard-live.png").stat().st_size > 10_000


def test_the_cancel_button_of_an_open_order_cancels_it(sim: SimExchange, tmp_path: Path) -> None:
    executable = chromium()
    sync_playwright = _playwright()
    token = TokenAuthority(FileTokenStore(tmp_path / "tokens.json")).issue("trade", "browser")
    path = _config(tmp_path, sim, "resting", True)
    text = path.read_text(encoding="utf-8").replace(
        FLIP, "tests.e2e.cli_strategies:RestingLimitBuy"
    )
    path.write_text(text.replace("size = 0.01\n", ""), encoding="utf-8")
    run = Process([script(), "run", str(path)], env=environment())
    journal = Journal(f"sqlite:///{tmp_path / 'journal.db'}")
    dialogs: list[str] = []
    try:
        url = eventually(
            lambda: re.search(r"dashboard on (http://127\.0\.0\.1:\d+/)", run.text),
            timeout=BOUND_S,
            message=run.text,
        ).group(1)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.goto(url)
                page.fill("#token", token.token)
                page.click("#connect")
                row = page.wait_for_selector("#orders tbody tr[data-order]", timeout=BOUND_S * 1000)
                wanted = row.get_attribute("data-order")
                page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
                page.click(f'#orders button[data-order="{wanted}"]')
                page.wait_for_selector("#orders td.empty", timeout=BOUND_S * 1000)
                page.screenshot(path=str(tmp_path / "dashboard-cancelled.png"))
            finally:
                browser.close()
        order = next(o for o in journal.orders() if o.client_order_id == wanted)
        assert order.state == "CANCELED"
    finally:
        journal.close()
        code = run.stop()
    assert dialogs and f"Cancel order {wanted}" in dialogs[0] and "PAPER" in dialogs[0]
    assert code == 0 and "Traceback" not in run.text, run.text[-3000:]
