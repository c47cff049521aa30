"""The one configuration system of real_trade: typed, frozen, layered, secret-safe.

:class:`RealTradeConfig` holds the seed's flat fields (``exchange``, ``apikey``, ``secret``,
``testnet``, ``symbol``, ``timeframe``, ``paper_trading``, ``initial_cash``, ``commission``, ...)
and one nested section per concern (``logging``, ``journal``, ``risk``, ``run``, ``history``).
``GlobalConfig`` in :mod:`real_trade.utils.config` is the same class under the seed's name.

Sources, highest first: arguments > environment (``RT_`` prefix, ``__`` between nested names:
``RT_LOGGING__LEVEL=DEBUG``) > file (TOML or JSON) > defaults. ``RealTradeConfig(**kwargs)`` uses
arguments and defaults only; :meth:`RealTradeConfig.load` does the layered load, merging nested
sections key by key. Every validation failure is a :class:`real_trade.errors.ConfigError` naming
the field as a dotted path, the bad value (masked for secrets), what is allowed, where the value
came from and how to fix it. Code that runs without a loaded config still gets the simulator
redirect from here: :meth:`RealTradeConfig.env_sim_url` is the one reader of ``RT_SIM_URL``.
Secrets are ``SecretStr``: ``repr``, ``str`` and :meth:`to_dict` mask them, and creating a config
registers them with the log mask (:func:`real_trade.utils.logger.register_secret`).

Adding a section: subclass :class:`ConfigSection` (set ``_section_path`` to its field name) and
add a field ``name: NameConfig = Field(default_factory=NameConfig)`` to :class:`RealTradeConfig`.
Environment names, file keys, error paths, masking and merging follow from the field. Loading
lives in :mod:`real_trade.config.sources`, error messages in :mod:`real_trade.config.messages`.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import urllib.parse
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    Field,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import NoDecode
from typing_extensions import Self

from real_trade.config.api import ApiConfig
from real_trade.config.derivatives import DerivativesConfig
from real_trade.config.messages import mask_url_password
from real_trade.config.metrics import MetricsConfig
from real_trade.config.section import ConfigSection
from real_trade.config.sources import (
    PROCESS_ENV_VARS,
    collect_layers,
)
from real_trade.notifications.config import NotificationsConfig
from real_trade.risk.config import LiveRiskConfig
from real_trade.utils.logger import LOG_LEVELS, MASK, register_secret, setup_logger

__all__ = [
    "MARKET_TYPES",
    "PROCESS_ENV_VARS",
    "SECRET_MASK",
    "SIM_URL_ENV",
    "TIMEFRAMES",
    "ConfigSection",
    "Credentials",
    "HistoryConfig",
    "JournalConfig",
    "LoggingConfig",
    "RealTradeConfig",
    "RunConfig",
]

TIMEFRAMES: tuple[str, ...] = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
MARKET_TYPES: tuple[str, ...] = ("spot", "future", "delivery", "swap")
SECRET_MASK = MASK
SIM_URL_ENV = "RT_SIM_URL"
"""The environment variable of the field ``sim_url``: the redirect of every venue client to a
running simulator (read by :meth:`RealTradeConfig.load` and :meth:`RealTradeConfig.env_sim_url`)."""

_EXCHANGE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SYMBOL_PART = r"[A-Za-z0-9][A-Za-z0-9._]*"
_SYMBOL_RE = re.compile(rf"^{_SYMBOL_PART}/{_SYMBOL_PART}(:[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_COMMON_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "USD", "EUR", "BTC", "ETH", "BNB")
_DB_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SIM_SCHEMES = ("http", "https", "ws", "wss")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_STRATEGY_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*(:{_IDENT}(\.{_IDENT})*)?$")


def _check_symbol_text(value: str) -> str:
    """A stripped ccxt symbol, or ValueError saying the form (and a guess when it can)."""
    value = value.strip()
    if _SYMBOL_RE.match(value):
        return value
    hint = ""
    if "/" not in value:
        upper = value.upper().replace("-", "").replace("_", "")
        for quote in _COMMON_QUOTES:
            if upper.endswith(quote) and len(upper) > len(quote):
                hint = f"; did you mean '{upper[: -len(quote)]}/{quote}'?"
                break
    raise ValueError(
        "must be a ccxt symbol BASE/QUOTE, optionally with :SETTLE "
        f"(e.g. 'BTC/USDT', 'BTC/USDT:USDT'){hint}"
    )


# --------------------------------------------------------------------------- base section
def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


with warnings.catch_warnings():
    # ``json`` is the documented option name; as a field it shadows the deprecated
    # ``BaseModel.json()`` method, which is exactly what we want.
    warnings.filterwarnings("ignore", message='Field name "json"', category=UserWarning)

    class LoggingConfig(ConfigSection):
        """Logging settings: level, optional rotating log file, JSON lines, rotation sizes.

        ``level`` is one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case; WARN means WARNING).
        ``file`` adds a rotating file handler (``max_bytes`` per file, ``backup_count`` files kept);
        ``json=True`` writes one JSON object per line. :meth:`configure` applies the section through
        :func:`real_trade.utils.logger.setup_logger`.
        """

        _section_path: ClassVar[str] = "logging"

        level: str = "INFO"
        file: str | None = None
        json: bool = False  # type: ignore[assignment]  # a field on purpose; replaces BaseModel.json
        max_bytes: int = 10 * 1024 * 1024
        backup_count: int = 5

        @field_validator("level", mode="before")
        @classmethod
        def _check_level(cls, value: Any) -> Any:
            if not isinstance(value, str):
                raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
            name = value.strip().upper()
            name = {"WARN": "WARNING", "FATAL": "CRITICAL"}.get(name, name)
            if name not in LOG_LEVELS:
                raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
            return name

        @field_validator("file", mode="before")
        @classmethod
        def _check_file(cls, value: Any) -> Any:
            return str(value) if isinstance(value, Path) else _blank_to_none(value)

        @field_validator("max_bytes", "backup_count")
        @classmethod
        def _check_non_negative(cls, value: int) -> int:
            if value < 0:
                raise ValueError("must be an integer >= 0")
            return value

        def configure(self, name: str = "real_trade") -> logging.Logger:
            """Set up the logger ``name`` from this section and return it (idempotent)."""
            return setup_logger(
                name,
                self.level,
                self.file,
                json=self.json,
                max_bytes=self.max_bytes,
                backup_count=self.backup_count,
            )


class JournalConfig(ConfigSection):
    """Where the order journal lives: a SQLAlchemy URL (SQLite by default, PostgreSQL by URL).

    A password inside the URL is treated as a secret: masked in ``repr``, ``str`` and
    :meth:`RealTradeConfig.to_dict`, and registered with the log mask.
    """

    _section_path: ClassVar[str] = "journal"

    url: str = "sqlite:///real_trade.db"

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        if not _DB_URL_RE.match(value):
            raise ValueError(
                "must be a SQLAlchemy database URL such as 'sqlite:///real_trade.db' or "
                "'postgresql+psycopg://user:password@host/dbname'"
            )
        try:
            password = urllib.parse.urlsplit(value).password
        except ValueError:
            password = None
        if password:
            register_secret(password)
            register_secret(urllib.parse.unquote(password))
        return value

    @field_serializer("url", when_used="json")
    def _serialize_url(self, value: str) -> str:
        return mask_url_password(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Repr arguments with the URL's password masked."""
        for name, value in super().__repr_args__():
            yield name, mask_url_password(value) if name == "url" else value

    @classmethod
    def load(
        cls,
        file: str | Path | None = None,
        *,
        env_prefix: str = "RT_",
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """The ``[journal]`` section alone of a config file and the environment
        (``RT_JOURNAL__URL``), read as :meth:`RealTradeConfig.load` reads them, without
        validating the rest: a reader of the journal (``real-trade status``) needs no API keys.
        """
        env = os.environ if env is None else env
        data, origins = collect_layers(RealTradeConfig, file, None, env_prefix, env, {})
        section = data.get("journal")
        return cls._validate_from(section if isinstance(section, Mapping) else {}, origins)


class RunConfig(ConfigSection):
    """What ``real-trade run`` runs: the strategy, its parameters, its name and its symbols.

    ``strategy`` is a dotted path, ``"package.module:Class"`` or ``"package.module.Class"``
    (:meth:`strategy_class` imports it; a ConfigError names ``run.strategy`` when it does not
    import); ``params`` its parameters; ``name`` the run's stable name (client order ids and
    the journal key; default the class name); ``symbols`` one feed each (default: the
    top-level ``symbol``; the environment may give ``BTC/USDT,ETH/USDT``); ``cancel_on_stop``
    cancels the open orders on a graceful stop (default: keep them, recover on restart);
    ``history_bars`` the bars backfilled to warm the strategy up (default: the feed's).
    ``dead_man_switch`` arms the venue's exchange-side cancel-all countdown from the runner's
    heartbeat, so that orders of a process that dies are cancelled after
    ``dead_man_timeout_s`` seconds (unset: on for perpetuals on a venue that has one, off for
    spot; see :mod:`real_trade.venues.dead_man`); a clean stop disarms it.
    """

    _section_path: ClassVar[str] = "run"

    strategy: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    symbols: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cancel_on_stop: bool = False
    history_bars: int | None = None
    dead_man_switch: bool | None = None
    dead_man_timeout_s: float = 60.0

    @field_validator("strategy", "name", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("strategy")
    @classmethod
    def _check_strategy(cls, value: str | None) -> str | None:
        if value is not None and not _STRATEGY_RE.match(value):
            raise ValueError(
                "must be a dotted path to a strategy class, 'package.module:Class' or "
                "'package.module.Class' (e.g. 'real_trade.strategies:SmaCross')"
            )
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str | None) -> str | None:
        if value is not None and not re.search(r"[A-Za-z0-9]", value):
            raise ValueError("must contain letters or digits, e.g. 'sma-btc'")
        return value

    @field_validator("symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part for part in (p.strip() for p in text.split(",")) if part]
        return value

    @field_validator("symbols")
    @classmethod
    def _check_symbols(cls, value: list[str]) -> list[str]:
        checked = [_check_symbol_text(symbol) for symbol in value]
        if len(set(checked)) != len(checked):
            raise ValueError("must not list a symbol twice")
        return checked

    @field_validator("history_bars")
    @classmethod
    def _check_history(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError("must be an integer >= 1 (or unset for the feed's default)")
        return value

    @field_validator("dead_man_timeout_s")
    @classmethod
    def _check_dead_man_timeout(cls, value: float) -> float:
        if not math.isfinite(value) or not 1 <= value <= 3600:
            raise ValueError("must be seconds with 1 <= dead_man_timeout_s <= 3600 (e.g. 60)")
        return value

    def strategy_class(self) -> type:
        """Import and return the strategy class; ConfigError naming ``run.strategy`` if not."""
        from real_trade.engine.loading import load_strategy

        return load_strategy(self.strategy, field="run.strategy")


class HistoryConfig(ConfigSection):
    """The local history cache (:mod:`real_trade.history`): where the candles live, and whether
    backtests (``real-trade backtest``/``optimize``) read them from there first.

    ``dir``: the cache folder; unset means ``$RT_HISTORY_DIR``, else ``~/.real_trade/history``
    (``RT_HISTORY__DIR`` sets this field). ``use``: unset (default) reads the cache for a real
    exchange and not against the simulator, whose candles are its own (set ``use = true`` to
    backtest on what ``real-trade download`` took from a simulator); true or false forces it.
    :meth:`cache` opens the folder.
    """

    _section_path: ClassVar[str] = "history"

    dir: str | None = None
    use: bool | None = None

    @field_validator("dir", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return _blank_to_none(value)

    def cache(self) -> Any:
        """The :class:`real_trade.history.HistoryCache` at ``dir`` (or the default folder)."""
        from real_trade.history import HistoryCache

        return HistoryCache(self.dir)


# --------------------------------------------------------------------------- the config
class Credentials(NamedTuple):
    """What a venue client signs with: :meth:`RealTradeConfig.credentials`."""

    apikey: SecretStr | None
    secret: SecretStr | None
    passphrase: SecretStr | None


class RealTradeConfig(ConfigSection):
    """The whole configuration: the seed's flat trading fields plus nested sections.

    Paper trading is the default and needs no keys; ``paper_trading=False`` (testnet or live)
    requires ``apikey`` and ``secret``, or ``key`` naming an entry of the encrypted key file
    (:mod:`real_trade.keys`; read by :meth:`credentials`). Plain construction uses arguments and
    defaults only; use :meth:`load` for arguments > environment > file > defaults, or
    :meth:`from_env`, :meth:`from_json`, :meth:`from_toml`. Instances are frozen;
    :meth:`replace` makes a validated copy. Secrets are ``SecretStr`` and never shown by
    ``repr``/``str``/:meth:`to_dict`.
    """

    exchange: str = "binance"
    apikey: SecretStr | None = None
    secret: SecretStr | None = None
    passphrase: SecretStr | None = None
    key: str | None = None
    keys_file: str | None = None
    testnet: bool = False
    symbol: str = "BTC/USDT"
    timeframe: str = "1h"
    paper_trading: bool = True
    initial_cash: float = 10000.0
    commission: float = 0.001
    paper_fill_from_book: bool = False
    """Paper market orders walk the venue's live order book instead of the simulated ladder."""
    market_type: Literal["spot", "future", "delivery", "swap"] = "spot"
    sim_url: str | None = None
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)
    risk: LiveRiskConfig = Field(default_factory=LiveRiskConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    derivatives: DerivativesConfig = Field(default_factory=DerivativesConfig)

    @field_validator("exchange", mode="before")
    @classmethod
    def _normalise_exchange(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("exchange")
    @classmethod
    def _check_exchange(cls, value: str) -> str:
        if not _EXCHANGE_RE.match(value):
            raise ValueError(
                "must be a ccxt exchange id: lowercase letters, digits and '_', starting with a "
                "letter (e.g. 'binance', 'bybit', 'okx')"
            )
        return value

    @field_validator("symbol")
    @classmethod
    def _check_symbol(cls, value: str) -> str:
        return _check_symbol_text(value)

    @field_validator("timeframe")
    @classmethod
    def _check_timeframe(cls, value: str) -> str:
        value = value.strip()
        if value in TIMEFRAMES:
            return value
        near = [tf for tf in TIMEFRAMES if tf.lower() == value.lower()]
        hint = f"; did you mean '{near[0]}'?" if near else ""
        raise ValueError(f"must be one of {', '.join(TIMEFRAMES)}{hint}")

    @field_validator("initial_cash")
    @classmethod
    def _check_cash(cls, value: float) -> float:
        if not math.isfinite(value) or value <= 0:
            raise ValueError("must be a finite number greater than 0")
        return value

    @field_validator("commission")
    @classmethod
    def _check_commission(cls, value: float) -> float:
        if not math.isfinite(value) or not 0 <= value < 0.1:
            raise ValueError(
                "must be a fraction of the traded value with 0 <= commission < 0.1 "
                "(0.001 means 0.1%)"
            )
        return value

    @field_validator("sim_url", mode="before")
    @classmethod
    def _check_sim_url(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None or not isinstance(value, str):
            return value
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in _SIM_SCHEMES or not parts.netloc:
            raise ValueError(
                "must be the simulator's base URL, e.g. 'http://127.0.0.1:8765' "
                f"(scheme one of {', '.join(_SIM_SCHEMES)})"
            )
        return value

    @field_validator("key", "keys_file", mode="before")
    @classmethod
    def _blank_key(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("key")
    @classmethod
    def _check_key_name(cls, value: str | None) -> str | None:
        from real_trade.keys.errors import KeyStoreError
        from real_trade.keys.manager import check_name

        if value is None:
            return None
        try:
            return check_name(value)
        except KeyStoreError as exc:
            raise ValueError(f"{exc.message}; {exc.fix}") from None

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        if self.key is not None and (self.apikey is not None or self.secret is not None):
            raise PydanticCustomError(
                "ambiguous_credentials",
                "key names a stored key, so apikey and secret must not be set too; "
                "remove one of them (RT_APIKEY / RT_SECRET in the environment count)",
            )
        if self.paper_trading or self.key is not None:
            return self
        missing = [name for name in ("apikey", "secret") if getattr(self, name) is None]
        if missing:
            raise PydanticCustomError(
                "missing_credentials",
                "{mode} trading needs apikey and secret, or key naming a stored key "
                "(real-trade keys add); missing: {missing}",
                {"missing": missing, "mode": "testnet" if self.testnet else "live"},
            )
        return self

    def credentials(self) -> Credentials:
        """The API key, secret and passphrase to trade with, as ``SecretStr`` (or None).

        With ``key`` set they come from the encrypted key file (``keys_file``, else
        ``RT_KEYS_FILE`` or the default), opened with the passphrase from
        ``RT_KEYS_PASSPHRASE``, the OS keyring or a prompt; otherwise from ``apikey``,
        ``secret`` and ``passphrase``. Raises :class:`~real_trade.keys.KeyStoreError` (a
        ConfigError) naming the fix when the key is unknown or no passphrase can be found.
        """
        if self.key is None:
            return Credentials(self.apikey, self.secret, self.passphrase)
        from real_trade.keys import stored_api_key

        stored = stored_api_key(self.key, self.exchange, self.keys_file)
        passphrase = SecretStr(stored.passphrase) if stored.passphrase else self.passphrase
        return Credentials(SecretStr(stored.api_key), SecretStr(stored.api_secret), passphrase)

    # ----------------------------------------------------------------- views
    @property
    def trading_mode(self) -> Literal["paper", "testnet", "live"]:
        """``"paper"`` (simulated orders), ``"testnet"`` or ``"live"`` (real money)."""
        if self.paper_trading:
            return "paper"
        return "testnet" if self.testnet else "live"

    @property
    def run_symbols(self) -> list[str]:
        """The symbols a run trades: ``run.symbols``, or the top-level ``symbol``."""
        return list(self.run.symbols) or [self.symbol]

    def to_dict(self) -> dict[str, Any]:
        """Return a plain, JSON-able dict of every field; secrets appear as ``'**********'``."""
        return self.model_dump(mode="json")

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        file: str | Path | None = None,
        *,
        env_prefix: str = "RT_",
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Self:
        """Load arguments > environment > file > defaults, merging nested sections deeply.

        ``file`` is a ``.toml`` or ``.json`` file (unknown keys in it are an error). The
        environment is ``env`` (``os.environ`` when None), read with ``env_prefix`` and ``__``
        between nested names; unknown prefixed variables are ignored with a logged warning that
        suggests the closest valid name. ``overrides`` are field values (nested sections as
        dicts); an override of ``None`` is skipped, so a CLI can forward unset options.
        """
        overrides = {k: v for k, v in overrides.items() if v is not None}
        env = os.environ if env is None else env
        return cls._validate_from(*collect_layers(cls, file, None, env_prefix, env, overrides))

    @classmethod
    def env_sim_url(cls, env: Mapping[str, str] | None = None) -> str | None:
        """``sim_url`` as the environment layer alone sets it (:data:`SIM_URL_ENV`), checked as
        :meth:`load` checks it; None when unset or blank. ``env`` defaults to ``os.environ``.

        The one reader of the redirect for code that runs without a loaded config, such as a
        store built by ``BinanceStore.get_instance(...)``; a config's own ``sim_url`` wins.
        """
        source = os.environ if env is None else env
        picked = tuple((k, v) for k, v in source.items() if k.upper() == SIM_URL_ENV and v.strip())
        return _checked_env_sim_url(cls, picked) if picked else None

    @classmethod
    def from_env(cls, prefix: str = "RT_", *, env: Mapping[str, str] | None = None) -> Self:
        """Load environment > defaults (``os.environ`` unless ``env`` is given)."""
        env = os.environ if env is None else env
        return cls._validate_from(*collect_layers(cls, None, None, prefix, env, {}))

    @classmethod
    def from_json(cls, filepath: str | Path) -> Self:
        """Load a JSON file > defaults (the environment is not read)."""
        return cls._validate_from(*collect_layers(cls, filepath, "json", "RT_", None, {}))

    @classmethod
    def from_toml(cls, filepath: str | Path) -> Self:
        """Load a TOML file > defaults (the environment is not read)."""
        return cls._validate_from(*collect_layers(cls, filepath, "toml", "RT_", None, {}))


@functools.lru_cache(maxsize=8)
def _checked_env_sim_url(
    model: type[RealTradeConfig], variables: tuple[tuple[str, str], ...]
) -> str | None:
    """``sim_url`` of the environment layer made of ``variables`` (checked once per value)."""
    return model._validate_from(
        *collect_layers(model, None, None, "RT_", dict(variables), {})
    ).sim_url
