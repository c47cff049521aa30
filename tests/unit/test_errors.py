"""Tests of the exception tree, ccxt translation, redaction and the ccxt_errors helper."""

from __future__ import annotations

import asyncio
import json
import pickle
import subprocess
import sys
import time
from pathlib import Path

import ccxt
import pytest
from ccxt.base import errors as ccxt_base_errors  # `import ccxt.base.errors` trips on ccxt.base

from real_trade import errors as rt
from real_trade.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BadSymbolError,
    ClockSkewError,
    ConfigError,
    DuplicateOrderError,
    ExchangeError,
    ExchangeProtocolError,
    ExchangeUnavailableError,
    FinalError,
    InsufficientFundsError,
    InvalidOrderError,
    NetworkError,
    NotSupportedError,
    OrderNotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RealTradeError,
    RequestTimeoutError,
    RetryableError,
    RiskRejectedError,
    redact,
)
from real_trade.venues.ccxt_errors import CCXT_ERROR_TABLE, ccxt_errors, translate_ccxt_error

AMB = AmbiguousOutcomeError

# ccxt class name -> (expected for an ordinary call, expected for an order-placing call).
# Written independently of real_trade.venues.ccxt_errors.CCXT_ERROR_TABLE: a new ccxt class fails
# test_every_ccxt_class_has_an_expected_translation until someone decides its mapping.
EXPECTED: dict[str, tuple[type[RealTradeError], type[RealTradeError]]] = {
    "BaseError": (ExchangeError, AMB),
    "ExchangeError": (ExchangeError, ExchangeError),
    "AuthenticationError": (AuthenticationError, AuthenticationError),
    "PermissionDenied": (PermissionDeniedError, PermissionDeniedError),
    "AccountNotEnabled": (PermissionDeniedError, PermissionDeniedError),
    "AccountSuspended": (PermissionDeniedError, PermissionDeniedError),
    "ArgumentsRequired": (ExchangeError, ExchangeError),
    "BadRequest": (ExchangeError, InvalidOrderError),
    "BadSymbol": (BadSymbolError, BadSymbolError),
    "OperationRejected": (ExchangeError, ExchangeError),
    "NoChange": (ExchangeError, ExchangeError),
    "MarginModeAlreadySet": (ExchangeError, ExchangeError),
    "MarketClosed": (ExchangeError, InvalidOrderError),
    "ManualInteractionNeeded": (PermissionDeniedError, PermissionDeniedError),
    "RestrictedLocation": (PermissionDeniedError, PermissionDeniedError),
    "InsufficientFunds": (InsufficientFundsError, InsufficientFundsError),
    "InvalidAddress": (ExchangeError, ExchangeError),
    "AddressPending": (ExchangeError, ExchangeError),
    "InvalidOrder": (InvalidOrderError, InvalidOrderError),
    "OrderNotFound": (OrderNotFoundError, OrderNotFoundError),
    "OrderNotCached": (OrderNotFoundError, OrderNotFoundError),
    "OrderImmediatelyFillable": (InvalidOrderError, InvalidOrderError),
    "OrderNotFillable": (InvalidOrderError, InvalidOrderError),
    "DuplicateOrderId": (DuplicateOrderError, DuplicateOrderError),
    "ContractUnavailable": (InvalidOrderError, InvalidOrderError),
    "NotSupported": (NotSupportedError, NotSupportedError),
    "InvalidProxySettings": (ConfigError, ConfigError),
    "ExchangeClosedByUser": (ExchangeError, AMB),
    "OperationFailed": (NetworkError, AMB),
    "NetworkError": (NetworkError, AMB),
    "DDoSProtection": (RateLimitError, RateLimitError),
    "RateLimitExceeded": (RateLimitError, RateLimitError),
    "ExchangeNotAvailable": (ExchangeUnavailableError, AMB),
    "OnMaintenance": (ExchangeUnavailableError, AMB),
    "InvalidNonce": (ClockSkewError, ClockSkewError),
    "ChecksumError": (ExchangeProtocolError, ExchangeProtocolError),
    "RequestTimeout": (RequestTimeoutError, AMB),
    "BadResponse": (ExchangeProtocolError, AMB),
    "NullResponse": (ExchangeProtocolError, AMB),
    "CancelPending": (ExchangeUnavailableError, AMB),
    "UnsubscribeError": (ExchangeError, ExchangeError),
}


def _ccxt_classes() -> dict[str, type[BaseException]]:
    """Every exception class ccxt.base.errors defines, found by introspection."""
    return {
        name: obj
        for name, obj in vars(ccxt_base_errors).items()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__ == ccxt_base_errors.__name__
    }


CCXT_CLASSES = _ccxt_classes()


def test_introspection_finds_the_ccxt_classes() -> None:
    assert {"BaseError", "NetworkError", "InvalidNonce", "OrderNotFound"} <= set(CCXT_CLASSES)


def test_every_ccxt_class_has_an_expected_translation() -> None:
    missing = sorted(set(CCXT_CLASSES) - set(EXPECTED))
    assert not missing, f"decide a mapping (and add it to both tables) for: {missing}"


def test_the_module_table_covers_every_ccxt_class() -> None:
    assert sorted(set(CCXT_CLASSES) - set(CCXT_ERROR_TABLE)) == []


@pytest.mark.parametrize("places_order", [False, True], ids=["ordinary", "placing"])
@pytest.mark.parametrize("name", sorted(CCXT_CLASSES))
def test_each_ccxt_class_translates_as_expected(name: str, places_order: bool) -> None:
    if name not in EXPECTED:
        pytest.fail(f"ccxt exports {name}, which has no expected translation")
    exc = CCXT_CLASSES[name]("someexchange something happened")
    error = translate_ccxt_error(exc, places_order=places_order, client_order_id="cid-1")
    expected = EXPECTED[name][1 if places_order else 0]
    assert type(error) is expected
    assert error.__cause__ is exc
    if places_order and isinstance(error, RetryableError):
        # An order-placing call may only be retried when the exchange certainly rejected it.
        assert error.request_rejected or isinstance(error, AmbiguousOutcomeError)
    if isinstance(error, AmbiguousOutcomeError):
        assert error.client_order_id == "cid-1"


def test_subclass_outside_ccxt_is_mapped_through_its_mro() -> None:
    class VenueThrottled(ccxt.RateLimitExceeded):
        pass

    assert isinstance(translate_ccxt_error(VenueThrottled("x 429")), RateLimitError)


@pytest.mark.parametrize(
    ("cls", "retryable", "rejected"),
    [
        (NetworkError, True, False),
        (RequestTimeoutError, True, False),
        (ExchangeUnavailableError, True, False),
        (AmbiguousOutcomeError, True, False),
        (RateLimitError, True, True),
        (ClockSkewError, True, True),
        (AuthenticationError, False, True),
        (PermissionDeniedError, False, True),
        (InsufficientFundsError, False, True),
        (InvalidOrderError, False, True),
        (OrderNotFoundError, False, True),
        (DuplicateOrderError, False, True),
        (BadSymbolError, False, True),
        (NotSupportedError, False, True),
        (RiskRejectedError, False, True),
        (ConfigError, False, True),
        (ExchangeProtocolError, False, True),
        (ExchangeError, False, True),
    ],
)
def test_class_flags(cls: type[RealTradeError], retryable: bool, rejected: bool) -> None:
    assert cls.retryable is retryable
    assert cls.request_rejected is rejected
    assert issubclass(cls, RetryableError if retryable else FinalError)


def test_tree_shape() -> None:
    assert issubclass(RequestTimeoutError, NetworkError)
    assert issubclass(PermissionDeniedError, AuthenticationError)
    assert issubclass(OrderNotFoundError, InvalidOrderError)
    assert issubclass(DuplicateOrderError, InvalidOrderError)
    assert not issubclass(AmbiguousOutcomeError, NetworkError)
    for name in rt.__all__:
        obj = getattr(rt, name)
        if isinstance(obj, type):
            assert issubclass(obj, RealTradeError)
            assert name in rt.__doc__  # drawn in the module docstring


# ----------------------------------------------------------------------------- redaction

SECRET = "s3cr3tVALUE0123456789abcdef"


@pytest.mark.parametrize(
    "template",
    [
        "GET https://api.binance.com/api/v3/order?symbol=BTCUSDT&timestamp=1&signature={s}&x=1",
        "POST /api/v3/order apiKey={s}",
        "headers {{'X-MBX-APIKEY': '{s}', 'Content-Type': 'application/json'}}",
        "X-MBX-APIKEY: {s}",
        '{{"secret": "{s}", "other": 1}}',
        "passphrase={s}",
        "'OK-ACCESS-PASSPHRASE': '{s}'",
        "OK-ACCESS-SIGN: {s}",
        "Authorization: Bearer {s}",
        "api_key={s}&recvWindow=5000",
        "listenKey={s}",
    ],
)
def test_redact_masks_secret_values(template: str) -> None:
    text = template.format(s=SECRET)
    masked = redact(text)
    assert SECRET not in masked
    assert "***" in masked


def test_redact_keeps_ordinary_text_and_key_names() -> None:
    plain = 'binance {"code":-2010,"msg":"Account has insufficient balance."} symbol=BTCUSDT'
    assert redact(plain) == plain
    assert redact(f"a=1&signature={SECRET}&b=2") == "a=1&signature=***&b=2"


def test_translated_message_cause_and_repr_hold_no_secret() -> None:
    message = (
        "binance GET https://api.binance.com/api/v3/account?timestamp=1"
        f"&signature={SECRET} headers {{'X-MBX-APIKEY': '{SECRET}'}}"
    )
    exc = ccxt.NetworkError(message)
    error = translate_ccxt_error(exc)
    assert isinstance(error, NetworkError)
    for text in (str(error), repr(error), str(error.__cause__), repr(error.__cause__)):
        assert SECRET not in text
    assert "signature=***" in str(error)


def test_long_messages_are_truncated() -> None:
    error = translate_ccxt_error(ccxt.ExchangeNotAvailable("binance 503 " + "<html>" * 2000))
    assert len(str(error)) < 2100


# ------------------------------------------------------------------- codes, retry-after, ids


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ('binance {"code":-2010,"msg":"Account has insufficient balance."}', "-2010"),
        ('okx {"code":"1","data":[{"sCode":"51008","sMsg":"Insufficient"}],"msg":""}', "51008"),
        ('bybit {"retCode":10006,"retMsg":"Too many visits!"}', "10006"),
        ('binance [{"code":-2011,"msg":"Unknown order sent."}]', "-2011"),
        ("binance request failed without a body", None),
    ],
)
def test_exchange_code_parsed_from_message(message: str, code: str | None) -> None:
    assert translate_ccxt_error(ccxt.ExchangeError(message)).exchange_code == code


def test_cause_is_the_original_exception() -> None:
    exc = ccxt.InsufficientFunds('binance {"code":-2010,"msg":"insufficient"}')
    error = translate_ccxt_error(exc, places_order=True)
    assert type(error) is InsufficientFundsError
    assert error.__cause__ is exc


def test_retry_after_from_argument_and_message() -> None:
    from_arg = translate_ccxt_error(ccxt.RateLimitExceeded("binance 429"), retry_after=12.5)
    assert isinstance(from_arg, RateLimitError)
    assert from_arg.retry_after == 12.5
    from_msg = translate_ccxt_error(ccxt.DDoSProtection("bybit 429 Retry-After: 7"))
    assert isinstance(from_msg, RateLimitError)
    assert from_msg.retry_after == 7.0
    arg_wins = translate_ccxt_error(ccxt.DDoSProtection("x Retry-After: 7"), retry_after=3.0)
    assert isinstance(arg_wins, RateLimitError)
    assert arg_wins.retry_after == 3.0
    none = translate_ccxt_error(ccxt.DDoSProtection("binance 429 Too Many Requests"))
    assert isinstance(none, RateLimitError)
    assert none.retry_after is None


def test_retry_after_from_binance_ban() -> None:
    until_ms = int((time.time() + 600) * 1000)
    msg = f'binance 418 {{"code":-1003,"msg":"Way too many requests; IP banned until {until_ms}."}}'
    error = translate_ccxt_error(ccxt.DDoSProtection(msg))
    assert isinstance(error, RateLimitError)
    assert error.retry_after is not None
    assert 500 < error.retry_after <= 600


def test_client_order_id_carried_by_ambiguous_outcome() -> None:
    error = translate_ccxt_error(
        ccxt.RequestTimeout("binance POST /api/v3/order timed out"),
        places_order=True,
        client_order_id="rt-42",
    )
    assert isinstance(error, AmbiguousOutcomeError)
    assert error.client_order_id == "rt-42"
    assert not error.request_rejected


BINANCE_CASES = [
    # (class ccxt chose, body, expected, expected when placing; None: same as expected)
    (ccxt.ExchangeError, '{"code":-1003,"msg":"Too much weight"}', RateLimitError, RateLimitError),
    (ccxt.BadResponse, '{"code":-1006,"msg":"status unknown."}', ExchangeUnavailableError, AMB),
    (ccxt.ExchangeError, '{"code":-1007,"msg":"Timeout"}', RequestTimeoutError, AMB),
    (ccxt.BadRequest, '{"code":-1021,"msg":"recvWindow"}', ClockSkewError, ClockSkewError),
    (ccxt.InvalidOrder, '{"code":-2010,"msg":"Duplicate order sent."}', DuplicateOrderError, None),
    (ccxt.OperationRejected, '{"code":-2011,"msg":"Unknown order"}', OrderNotFoundError, None),
    (ccxt.ExchangeError, '{"code":-2013,"msg":"Order does not exist."}', OrderNotFoundError, None),
    (ccxt.InvalidOrder, '{"code":-2010,"msg":"Price too high."}', InvalidOrderError, None),
]


@pytest.mark.parametrize(("ccxt_cls", "body", "ordinary", "placing"), BINANCE_CASES)
def test_binance_codes_refine_ccxt_classes(
    ccxt_cls: type[Exception],
    body: str,
    ordinary: type[RealTradeError],
    placing: type[RealTradeError] | None,
) -> None:
    exc = ccxt_cls(f"binance {body}")
    assert type(translate_ccxt_error(exc)) is ordinary
    assert type(translate_ccxt_error(exc, places_order=True)) is (placing or ordinary)


def test_binance_codes_apply_only_to_binance_messages() -> None:
    exc = ccxt.ExchangeError('woo {"code":-1003,"msg":"not binance"}')
    assert type(translate_ccxt_error(exc)) is ExchangeError


def _bybit_refusal(status: int, body: str) -> Exception:
    """What ccxt's Bybit client raises for an answer of HTTP ``status`` with ``body`` (its
    ``handle_errors`` first, then the HTTP status, as ccxt's ``fetch`` does)."""
    exchange, url = ccxt.bybit(), "https://api.bybit.com/v5/account/wallet-balance"
    parsed = json.loads(body) if body.startswith("{") else None
    with pytest.raises(ccxt.BaseError) as caught:
        exchange.handle_errors(status, "", url, "GET", {}, body, parsed, {}, "")
        exchange.handle_http_status_code(status, "Forbidden", url, "GET", body)
    return caught.value


def _v5(code: int, message: str) -> str:
    return json.dumps({"retCode": code, "retMsg": message, "result": {}, "time": 1})


BYBIT_CASES = [
    # (HTTP status, body, expected; the same when placing)
    (403, "access too frequent", RateLimitError),  # the IP limit, as Bybit words it
    (403, _v5(403, "access too frequent"), RateLimitError),  # the same in a v5 envelope
    (200, _v5(10006, "Too many visits. Exceeded the API Rate Limit."), RateLimitError),
    (200, _v5(10018, "Exceeded the IP Rate Limit."), RateLimitError),
    (200, _v5(170222, "Too many requests in this time frame."), RateLimitError),
    (200, _v5(10003, "API key is invalid."), AuthenticationError),  # a refused key stays one
    (200, _v5(110001, "Order does not exist."), OrderNotFoundError),
]


@pytest.mark.parametrize(("status", "body", "expected"), BYBIT_CASES)
def test_bybit_rate_limits_are_rate_limits(
    status: int, body: str, expected: type[RealTradeError]
) -> None:
    """Bybit's 403 "access too frequent" is a rate limit (retried with backoff), never a final
    error nor a refused key; so are its retCodes 10006, 10018 and 170222."""
    exc = _bybit_refusal(status, body)
    assert type(translate_ccxt_error(exc)) is expected
    assert type(translate_ccxt_error(exc, places_order=True)) is expected


def test_bybit_rules_apply_only_to_bybit_messages() -> None:
    exc = ccxt.ExchangeError(f"woo {_v5(403, 'access too frequent')}")
    assert type(translate_ccxt_error(exc)) is ExchangeError


# ------------------------------------------------------------------------------- non-ccxt


def test_real_trade_error_is_returned_unchanged() -> None:
    error = NetworkError("already translated")
    assert translate_ccxt_error(error) is error
    assert translate_ccxt_error(error, places_order=True) is error


@pytest.mark.parametrize(
    ("exc", "ordinary"),
    [
        (ValueError("boom"), ExchangeError),
        (TimeoutError("slow"), RequestTimeoutError),
        (ConnectionResetError("reset"), NetworkError),
    ],
)
def test_non_ccxt_exceptions(exc: Exception, ordinary: type[RealTradeError]) -> None:
    assert type(translate_ccxt_error(exc)) is ordinary
    placing = translate_ccxt_error(exc, places_order=True, client_order_id="c")
    assert isinstance(placing, AmbiguousOutcomeError)
    assert placing.client_order_id == "c"
    assert placing.__cause__ is exc


def test_empty_message_falls_back_to_the_class_name() -> None:
    assert str(translate_ccxt_error(ccxt.NullResponse())) == "NullResponse"


def test_import_does_not_import_ccxt() -> None:
    code = "import sys, real_trade.errors; print('ccxt' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------- constructors


def test_constructor_extras() -> None:
    config = ConfigError("must be positive", field="max_delay", fix="use a number >= 0")
    assert (config.field, config.fix) == ("max_delay", "use a number >= 0")
    assert config.exchange_code is None
    assert str(config) == "max_delay: must be positive (fix: use a number >= 0)"
    assert str(ConfigError("bad thing")) == "bad thing"
    risk = RiskRejectedError("order too large", rule="max_order_size", limit=1.0, value=2.5)
    assert (risk.rule, risk.limit, risk.value) == ("max_order_size", 1.0, 2.5)
    invalid = InvalidOrderError("LOT_SIZE", exchange_code="-1013")
    assert (invalid.reason, invalid.exchange_code) == ("LOT_SIZE", "-1013")
    assert InvalidOrderError("x", reason="tick").reason == "tick"
    assert RateLimitError("x", retry_after=-3).retry_after == 0.0
    assert RateLimitError("x", retry_after=float("nan")).retry_after is None


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("bad", field="symbol", fix="use BASE/QUOTE"),
        RiskRejectedError("denied", rule="max_leverage", limit=3, value=5),
        AmbiguousOutcomeError("unknown", client_order_id="cid", exchange_code="-1007"),
        RateLimitError("slow down", retry_after=2.0),
        InvalidOrderError("bad", reason="tick"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle_with_their_attributes(error: RealTradeError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.__dict__ == error.__dict__
    assert str(copy) == str(error)


# ---------------------------------------------------------------------------- ccxt_errors


def test_ccxt_errors_as_context_manager() -> None:
    original = ccxt.InvalidNonce("binance timestamp outside recvWindow")
    with pytest.raises(ClockSkewError) as info, ccxt_errors():
        raise original
    assert info.value.__cause__ is original


def test_ccxt_errors_leaves_project_errors_and_cancellation_alone() -> None:
    own = InsufficientFundsError("no money")
    with pytest.raises(InsufficientFundsError) as info, ccxt_errors():
        raise own
    assert info.value is own
    with pytest.raises(asyncio.CancelledError), ccxt_errors():
        raise asyncio.CancelledError()


def test_ccxt_errors_as_sync_decorator() -> None:
    @ccxt_errors(places_order=True, client_order_id="cid-9")
    def place() -> str:
        raise ccxt.ExchangeNotAvailable("binance 503 Service Unavailable")

    @ccxt_errors()
    def fine(x: int) -> int:
        return x * 2

    with pytest.raises(AmbiguousOutcomeError) as info:
        place()
    assert info.value.client_order_id == "cid-9"
    assert fine(21) == 42
    assert place.__name__ == "place"


def test_ccxt_errors_as_async_decorator() -> None:
    @ccxt_errors()
    async def fetch() -> None:
        await asyncio.sleep(0)
        raise ccxt.BadSymbol("binance does not have market symbol FOO/BAR")

    @ccxt_errors()
    async def fine() -> int:
        await asyncio.sleep(0)
        return 7

    with pytest.raises(BadSymbolError):
        asyncio.run(fetch())
    assert asyncio.run(fine()) == 7
