"""Logging: idempotent setup, rotating files, JSON lines, and secrets masked everywhere."""

from __future__ import annotations

import io
import itertools
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from real_trade.config import LoggingConfig, RealTradeConfig
from real_trade.utils import get_logger, setup_logger
from real_trade.utils.logger import (
    MASK,
    SecretMaskingFilter,
    mask_secrets,
    parse_level,
    register_secret,
)

_counter = itertools.count()


def _remove_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


@pytest.fixture
def logger_name() -> Iterator[str]:
    """A fresh logger name under real_trade; its handlers are closed afterwards."""
    name = f"real_trade.test_logger.n{next(_counter)}"
    yield name
    logger = logging.getLogger(name)
    _remove_handlers(logger)
    logger.setLevel(logging.NOTSET)


def read(path: Path) -> str:
    """The text of ``path`` (after the handlers flushed it)."""
    return path.read_text(encoding="utf-8")


def flush(logger: logging.Logger) -> None:
    """Flush every handler of ``logger``."""
    for handler in logger.handlers:
        handler.flush()


# --------------------------------------------------------------------------- names and levels
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("broker", "real_trade.broker"),
        ("real_trade", "real_trade"),
        ("real_trade.feeds.binance", "real_trade.feeds.binance"),
        ("real_trader", "real_trade.real_trader"),
        ("mystrategy.signals", "real_trade.mystrategy.signals"),
    ],
)
def test_get_logger_lives_under_real_trade(name: str, expected: str) -> None:
    logger = get_logger(name)
    assert logger.name == expected
    assert logger is logging.getLogger(expected)


@pytest.mark.parametrize(
    ("level", "expected"),
    [("debug", 10), ("INFO", 20), ("warn", 30), ("Warning", 30), ("ERROR", 40), (25, 25), ("5", 5)],
)
def test_parse_level(level: str | int, expected: int) -> None:
    assert parse_level(level) == expected


@pytest.mark.parametrize("level", ["LOUD", "", -1, True])
def test_parse_level_rejects_unknown_levels(level: str | int) -> None:
    with pytest.raises(ValueError, match="level"):
        parse_level(level)


def test_level_filters_records(tmp_path: Path, logger_name: str) -> None:
    path = tmp_path / "level.log"
    logger = setup_logger(logger_name, "WARNING", str(path), console=False)
    logger.info("quiet-info")
    logger.warning("loud-warning")
    flush(logger)
    assert "loud-warning" in read(path)
    assert "quiet-info" not in read(path)


# --------------------------------------------------------------------------- setup
def test_setup_is_idempotent_and_keeps_foreign_handlers(tmp_path: Path, logger_name: str) -> None:
    foreign = logging.StreamHandler(io.StringIO())
    logging.getLogger(logger_name).addHandler(foreign)

    first = setup_logger(logger_name, "INFO", str(tmp_path / "a.log"))
    count = len(first.handlers)
    second = setup_logger(logger_name, "DEBUG", str(tmp_path / "a.log"))
    assert second is first
    assert len(second.handlers) == count == 3  # console + file + foreign
    assert foreign in second.handlers
    assert second.level == logging.DEBUG

    second.info("exactly-once")
    flush(second)
    assert read(tmp_path / "a.log").count("exactly-once") == 1

    third = setup_logger(logger_name, "INFO", console=False)
    assert third.handlers == [foreign]


def test_default_name_is_real_trade_and_console_goes_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger("real_trade")
    saved_level = root.level
    before = list(root.handlers)
    try:
        logger = setup_logger(level="INFO", fmt="%(levelname)s|%(name)s|%(message)s")
        assert logger.name == "real_trade"
        get_logger("engine").info("hello from the engine")
        err = capsys.readouterr().err
        assert "INFO|real_trade.engine|hello from the engine" in err
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved_level)


def test_rotating_file_creates_directories_and_rotates(tmp_path: Path, logger_name: str) -> None:
    path = tmp_path / "deep" / "er" / "bot.log"
    logger = setup_logger(
        logger_name, "INFO", str(path), max_bytes=300, backup_count=2, console=False
    )
    for i in range(60):
        logger.info("line %03d with some padding to fill the file", i)
    flush(logger)
    assert path.exists()
    assert (tmp_path / "deep" / "er" / "bot.log.1").exists()
    assert (tmp_path / "deep" / "er" / "bot.log.2").exists()
    assert not (tmp_path / "deep" / "er" / "bot.log.3").exists()
    assert "line 059" in read(path)
    assert all(len(p.read_bytes()) <= 300 for p in path.parent.iterdir())


def test_json_lines_are_parseable_with_extras_and_exception(
    tmp_path: Path, logger_name: str
) -> None:
    path = tmp_path / "bot.jsonl"
    logger = setup_logger(logger_name, "DEBUG", str(path), json=True, console=False)
    logger.info("order %s filled", "abc", extra={"order_id": "abc", "qty": 1.5, "meta": {"a": 1}})
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        logger.exception("it broke")
    flush(logger)
    lines = read(path).splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "order abc filled"
    assert first["level"] == "INFO"
    assert first["logger"] == logger_name
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert first["order_id"] == "abc" and first["qty"] == 1.5 and first["meta"] == {"a": 1}
    assert second["level"] == "ERROR"
    assert "ZeroDivisionError: division by zero" in second["exc_info"]
    assert "Traceback" in second["exc_info"]


def test_logging_config_section_configures_the_logger(tmp_path: Path, logger_name: str) -> None:
    path = tmp_path / "from-config.jsonl"
    section = LoggingConfig(level="error", file=str(path), json=True)
    logger = section.configure(logger_name)
    assert logger.level == logging.ERROR
    logger.error("configured")
    flush(logger)
    assert json.loads(read(path).splitlines()[0])["message"] == "configured"


# --------------------------------------------------------------------------- masking
def test_secret_from_config_is_masked_in_args_message_and_traceback(
    tmp_path: Path, logger_name: str
) -> None:
    apikey, secret = "K-logged-abcdef123456", "S-logged-abcdef123456"
    config = RealTradeConfig(apikey=apikey, secret=secret)
    assert config.apikey is not None and config.secret is not None
    path = tmp_path / "masked.log"
    logger = setup_logger(logger_name, "INFO", str(path), console=False)

    logger.info("key=%s secret %r", config.apikey.get_secret_value(), secret)
    logger.info(f"inline {secret}")  # an f-string message must be masked too
    try:
        raise RuntimeError(f"auth failed for {apikey}")
    except RuntimeError:
        logger.exception("request failed with %s", secret)
    flush(logger)

    text = read(path)
    assert apikey not in text and secret not in text
    assert text.count(MASK) >= 4
    assert "RuntimeError: auth failed for" in text  # the traceback is still there


def test_redact_patterns_are_masked_without_registration(tmp_path: Path, logger_name: str) -> None:
    path = tmp_path / "redact.log"
    logger = setup_logger(logger_name, "INFO", str(path), console=False)
    logger.info("GET /api/v3/order?apiKey=%s&signature=%s", "plainkey99", "deadbeef99")
    flush(logger)
    text = read(path)
    assert "plainkey99" not in text and "deadbeef99" not in text
    assert "apiKey=" in text


def test_secret_in_json_extra_fields_is_masked(tmp_path: Path, logger_name: str) -> None:
    register_secret("S-extra-field-987654")
    path = tmp_path / "extra.jsonl"
    logger = setup_logger(logger_name, "INFO", str(path), json=True, console=False)
    logger.info(
        "with extras",
        extra={"token_used": "S-extra-field-987654", "nested": {"k": ["S-extra-field-987654"]}},
    )
    flush(logger)
    line = read(path)
    assert "S-extra-field-987654" not in line
    record = json.loads(line)
    assert record["token_used"] == MASK and record["nested"] == {"k": [MASK]}


def test_mask_reaches_handlers_added_by_the_user() -> None:
    register_secret("S-own-handler-1234567")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretMaskingFilter())
    logger = logging.getLogger(f"real_trade.test_logger.own{next(_counter)}")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("secret is %s", "S-own-handler-1234567")
        try:
            raise ValueError("bad key S-own-handler-1234567")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = stream.getvalue()
    assert "S-own-handler-1234567" not in text
    assert f"secret is {MASK}" in text
    assert f"ValueError: bad key {MASK}" in text


def test_record_with_bad_arguments_is_still_written_and_masked(
    tmp_path: Path, logger_name: str
) -> None:
    register_secret("S-bad-args-24680")
    path = tmp_path / "bad-args.log"
    logger = setup_logger(logger_name, "INFO", str(path), fmt="%(message)s", console=False)
    logger.info("%d items", "S-bad-args-24680")  # wrong type for %d
    flush(logger)
    text = read(path)
    assert "%d items" in text and "unformattable" in text
    assert "S-bad-args-24680" not in text
    assert MASK in text


def test_short_values_are_not_registered_and_none_is_ignored() -> None:
    register_secret("abc12")
    register_secret(None)
    assert mask_secrets("abc12 stays") == "abc12 stays"
    register_secret("LongEnough-31337")
    assert mask_secrets("x LongEnough-31337 y") == f"x {MASK} y"


def test_percent_encoded_form_is_masked_too() -> None:
    register_secret("S+slash/eq=1234")
    assert "S%2Bslash%2Feq%3D1234" not in mask_secrets("q?sig=none&x=S%2Bslash%2Feq%3D1234")


def test_registering_from_many_threads_while_logging(tmp_path: Path, logger_name: str) -> None:
    path = tmp_path / "threads.log"
    logger = setup_logger(logger_name, "INFO", str(path), console=False)
    secrets = [f"S-thread-{i:04d}-xyzxyz" for i in range(40)]

    def work(value: str) -> None:
        register_secret(value)
        logger.info("using %s", value)

    threads = [threading.Thread(target=work, args=(s,)) for s in secrets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flush(logger)
    text = read(path)
    assert text.count("using " + MASK) == len(secrets)
    assert not any(s in text for s in secrets)


def test_get_logger_returns_the_logger_setup_logger_configured(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seed pair: ``setup_logger(name, ...)`` then ``get_logger(name)`` is the same logger,
    whose lines reach the configured file and console (a name outside ``real_trade``)."""
    name = f"seed_app_{next(_counter)}"
    configured = setup_logger(name, "INFO", str(tmp_path / "app.log"), "%(name)s|%(message)s")
    try:
        got = get_logger(name)
        assert got is configured
        assert got.name == name
        got.info("through get_logger")
        flush(got)
        assert f"{name}|through get_logger" in read(tmp_path / "app.log")
        assert f"{name}|through get_logger" in capsys.readouterr().err
        assert get_logger("engine").name == "real_trade.engine"  # other names unchanged
    finally:
        _remove_handlers(configured)
        configured.setLevel(logging.NOTSET)
