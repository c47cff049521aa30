"""The one configuration system of real_trade: typed, frozen, layered, secret-safe.

:class:`RealTradeConfig` holds the seed's flat fields (``exchange``, ``apikey``, ``secret``,
``testnet``, ``symbol``, ``timeframe``, ``paper_trading``, ``initial_cash``, ``commission``, ...)
and one nested section per concern (``logging``, ``journal``). ``GlobalConfig`` in
:mod:`real_trade.utils.config` is the same class under the seed's name.

Sources, highest first: arguments > environment (``RT_`` prefix, ``__`` between nested names:
``RT_LOGGING__LEVEL=DEBUG``) > file (TOML or JSON) > defaults. ``RealTradeConfig(**kwargs)`` uses
arguments and defaults only; :meth:`RealTradeConfig.load` does the layered load, merging nested
sections key by key. Every validation failure is a :class:`real_trade.errors.ConfigError` naming
the field as a dotted path, the bad value (masked for secrets), what is allowed, where the value
came from and how to fix it. Secrets are ``SecretStr``: ``repr``, ``str`` and :meth:`to_dict`
mask them, and creating a config registers them with the log mask
(:func:`real_trade.utils.logger.register_secret`).

Adding a section: subclass :class:`ConfigSection` (set ``_section_path`` to its field name) and
add a field ``name: NameConfig = Field(default_factory=NameConfig)`` to :class:`RealTradeConfig`.
Environment names, file keys, error paths, masking and merging follow from the field.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import os
import re
import sys
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import EnvSettingsSource, SettingsError
from typing_extensions import Self

from real_trade.errors import ConfigError
from real_trade.utils.logger import LOG_LEVELS, MASK, mask_secrets, register_secret, setup_logger

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = [
    "MARKET_TYPES",
    "PROCESS_ENV_VARS",
    "SECRET_MASK",
    "TIMEFRAMES",
    "ConfigSection",
    "JournalConfig",
    "LoggingConfig",
    "RealTradeConfig",
]

_log = logging.getLogger("real_trade.config")

TIMEFRAMES: tuple[str, ...] = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M",
)  # fmt: skip
MARKET_TYPES: tuple[str, ...] = ("spot", "future", "delivery", "swap")
SECRET_MASK = MASK
PROCESS_ENV_VARS: frozenset[str] = frozenset(
    {"REQUIRE_SERVICES", "TEST_POSTGRES_URL", "TEST_REDIS_URL"}
)
"""Names (after the prefix) of process-level ``RT_`` variables that are not config fields."""

_ENV_DELIMITER = "__"
_EXCHANGE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_SYMBOL_PART = r"[A-Za-z0-9][A-Za-z0-9._]*"
_SYMBOL_RE = re.compile(rf"^{_SYMBOL_PART}/{_SYMBOL_PART}(:[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_COMMON_QUOTES = ("USDT", "USDC", "BUSD", "FDUSD", "USD", "EUR", "BTC", "ETH", "BNB")
_DB_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SIM_SCHEMES = ("http", "https", "ws", "wss")


# --------------------------------------------------------------------------- origins
@dataclass(frozen=True)
class _Origin:
    """Where a value came from: an argument, an environment variable or a file."""

    kind: Literal["argument", "env", "file"]
    name: str = ""

    def describe(self, loc: Sequence[str]) -> str:
        if self.kind == "env":
            return f"environment variable {self.name}"
        if self.kind == "file":
            return f"file {self.name}"
        return f"argument {loc[0]}" if loc else "arguments"

    def fix(self, dotted: str, default: str | None) -> str:
        keep_default = f" to use the default {default}" if default is not None else ""
        if self.kind == "env":
            return f"set {self.name} to an allowed value, or unset it{keep_default}."
        if self.kind == "file":
            return (
                f"change '{dotted}' in {self.name} to an allowed value, or remove it{keep_default}."
            )
        return f"pass an allowed value for {dotted}, or leave it out{keep_default}."


_ARGUMENT = _Origin("argument")


@dataclass
class _Origins:
    """Origin per dotted path, looked up by longest prefix."""

    paths: dict[tuple[str, ...], _Origin] = field(default_factory=dict)
    fallback: _Origin | None = _ARGUMENT
    env_prefix: str = "RT_"

    def lookup(self, loc: Sequence[str]) -> _Origin | None:
        for end in range(len(loc), 0, -1):
            found = self.paths.get(tuple(loc[:end]))
            if found is not None:
                return found
        return self.fallback

    def forget_below(self, path: tuple[str, ...]) -> None:
        for key in [k for k in self.paths if len(k) > len(path) and k[: len(path)] == path]:
            del self.paths[key]


# --------------------------------------------------------------------------- field introspection
def _section_type(annotation: Any) -> type[ConfigSection] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, ConfigSection):
            return candidate
    return None


def _field_at(model: type[BaseModel], loc: Sequence[str]) -> FieldInfo | None:
    current: type[BaseModel] | None = model
    info: FieldInfo | None = None
    for part in loc:
        if current is None:
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = _section_type(info.annotation)
    return info


def _is_secret(info: FieldInfo | None) -> bool:
    if info is None:
        return False
    return any(c is SecretStr for c in (info.annotation, *get_args(info.annotation)))


def _default_text(info: FieldInfo | None) -> str | None:
    if info is None or _is_secret(info):
        return None
    default = info.get_default(call_default_factory=True)
    if isinstance(default, str | int | float | bool):
        return repr(default)
    return None


def _mask_url_password(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _show_value(value: Any, secret: bool) -> str:
    if secret:
        return "<hidden>"
    if value is None or isinstance(value, str | int | float | bool):
        text = repr(value)
        if isinstance(value, str) and "://" in value:
            text = repr(_mask_url_password(value))
        if len(text) > 80:
            text = text[:77] + "..."
        return mask_secrets(text)
    return f"<{type(value).__name__}>"


# --------------------------------------------------------------------------- error conversion
def _requirement(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if message.startswith("Input should be"):
        message = "must be" + message[len("Input should be") :]
    return message[:1].lower() + message[1:]


def _unknown_field_message(
    model: type[BaseModel], loc: Sequence[str], dotted: str, origin: _Origin | None
) -> tuple[str, str]:
    parent = (
        model
        if len(loc) == 1
        else _section_type(getattr(_field_at(model, loc[:-1]), "annotation", None))
    )
    valid = sorted(parent.model_fields) if parent is not None else []
    close = difflib.get_close_matches(loc[-1], valid, n=1)
    where = f" (from {origin.describe(loc)})" if origin is not None else ""
    scope = f"in '{'.'.join(loc[:-1])}' " if len(loc) > 1 else ""
    hint = f" Did you mean '{close[0]}'?" if close else ""
    message = (
        f"unknown config field '{dotted}'{where}: valid fields {scope}are {', '.join(valid)}.{hint}"
    )
    rename = f" or rename it to '{close[0]}'" if close else ""
    if origin is not None and origin.kind == "file":
        fix = f"remove '{dotted}' from {origin.name}{rename}."
    else:
        fix = f"remove '{dotted}'{rename}."
    return message, fix


def _credentials_message(ctx: Mapping[str, Any], origins: _Origins) -> tuple[str, str, str]:
    missing = [str(name) for name in ctx.get("missing", ())] or ["apikey"]
    mode = str(ctx.get("mode", "live"))
    origin = origins.lookup(("paper_trading",))
    where = f" (paper_trading=False from {origin.describe(('paper_trading',))})" if origin else ""
    prefix = origins.env_prefix
    names = " and ".join(missing)
    verb = "is" if len(missing) == 1 else "are"
    message = (
        f"config field '{missing[0]}' is required: {mode} trading{where} needs apikey and "
        f"secret, but {names} {verb} not set."
    )
    env_names = " and ".join(f"{prefix}{name.upper()}" for name in missing)
    fix = (
        f"set {env_names} (or pass {names} as arguments, or put them in the config file), "
        f"or set paper_trading=True ({prefix}PAPER_TRADING=true) to trade on paper without keys."
    )
    return missing[0], message, fix


def _config_error(
    model: type[BaseModel], exc: ValidationError, origins: _Origins, prefix: str = ""
) -> ConfigError:
    """Turn a pydantic ValidationError into one ConfigError, never echoing a secret."""
    problems: list[str] = []
    fixes: list[str] = []
    first_field: str | None = None
    for err in exc.errors(include_url=False):
        loc = [str(part) for part in err["loc"]]
        dotted = ".".join([prefix, *loc] if prefix else loc)
        if err["type"] == "missing_credentials":
            name, message, fix = _credentials_message(err.get("ctx") or {}, origins)
            dotted = ".".join([prefix, name]) if prefix else name
        elif err["type"] == "extra_forbidden" and loc:
            message, fix = _unknown_field_message(model, loc, dotted, origins.lookup(loc))
        else:
            info = _field_at(model, loc) if loc else None
            origin = origins.lookup(loc)
            where = f" (from {origin.describe(loc)})" if origin is not None else ""
            shown = f" = {_show_value(err.get('input'), _is_secret(info))}" if loc else ""
            subject = f"config field '{dotted}'" if loc else "config"
            requirement = _requirement(err["msg"])
            stop = "" if requirement.endswith((".", "?", "!")) else "."
            message = f"{subject}{shown}{where} is invalid: {requirement}{stop}"
            default = _default_text(info)
            fix = (
                origin.fix(dotted, default)
                if origin is not None
                else f"set {dotted} to an allowed value."
            )
        first_field = first_field or dotted or None
        problems.append(message)
        if fix not in fixes:
            fixes.append(fix)
    fix_text = " ".join(fixes)
    if len(problems) == 1:
        text = f"{problems[0]} Fix: {fix_text}"
    else:
        listed = "\n  - ".join(problems)
        text = f"{len(problems)} config errors:\n  - {listed}\nFix: {fix_text}"
    return ConfigError(mask_secrets(text), field=first_field, fix=mask_secrets(fix_text))


# --------------------------------------------------------------------------- base section
class ConfigSection(BaseModel):
    """Base of every config model: frozen, unknown fields forbidden, errors as ConfigError.

    Subclasses declare fields as usual. Construction, ``model_validate`` and
    ``model_validate_json`` raise :class:`real_trade.errors.ConfigError` (never pydantic's
    ``ValidationError``, whose text could echo an input). Every ``SecretStr`` field is stripped,
    rejected when it holds the mask itself, and registered with the log mask once validated.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    _section_path: ClassVar[str] = ""

    def __init__(self, **data: Any) -> None:
        """Validate ``data`` (arguments and defaults only); raise ConfigError when invalid."""
        error: ConfigError | None = None
        try:
            super().__init__(**data)
        except ValidationError as exc:
            error = _config_error(type(self), exc, _Origins(), self._section_path)
        if error is not None:
            raise error

    # Like pydantic-settings' BaseSettings: tell pydantic this __init__ only wraps the base one,
    # so nested and direct validation run the plain schema (errors converted by the caller).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def replace(self, **changes: Any) -> Self:
        """Return a validated copy with ``changes`` applied (nested sections merge key by key)."""
        data = self.model_dump()
        origins = _Origins(fallback=None)
        _merge_layer(data, changes, origins, lambda _path: _ARGUMENT)
        return self._validate_from(data, origins)

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse assignment (configs are frozen) with a ConfigError that names the way out."""
        if name in type(self).model_fields:
            section = self._section_path
            dotted = f"{section}.{name}" if section else name
            how = f"{section}={{'{name}': ...}}" if section else f"{name}=..."
            fix = f"make a changed copy with config.replace({how})"
            raise ConfigError(
                f"config field '{dotted}' cannot be changed: configs are frozen. Fix: {fix}.",
                field=dotted,
                fix=fix,
            )
        super().__setattr__(name, value)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Pydantic's ``model_validate``, raising ConfigError instead of ValidationError."""
        error: ConfigError | None = None
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            error = _config_error(cls, exc, _Origins(), cls._section_path)
        raise error

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        """Pydantic's ``model_validate_json``, raising ConfigError instead of ValidationError."""
        error: ConfigError | None = None
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            error = _config_error(cls, exc, _Origins(), cls._section_path)
        raise error

    @classmethod
    def _validate_from(cls, data: Mapping[str, Any], origins: _Origins) -> Self:
        error: ConfigError | None = None
        try:
            return cast("Self", cls.__pydantic_validator__.validate_python(data))
        except ValidationError as exc:
            error = _config_error(cls, exc, origins, cls._section_path)
        raise error

    @field_validator("*", mode="before")
    @classmethod
    def _clean_secret_input(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if not _is_secret(cls.model_fields.get(name)) or not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        if value == MASK:
            raise ValueError(
                "holds the mask '**********', not a real secret (was it copied from to_dict()?)"
            )
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _register_secret_values(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
        return value


# --------------------------------------------------------------------------- sections
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
        return _mask_url_password(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """Repr arguments with the URL's password masked."""
        for name, value in super().__repr_args__():
            yield name, _mask_url_password(value) if name == "url" else value


# --------------------------------------------------------------------------- the config
class RealTradeConfig(ConfigSection):
    """The whole configuration: the seed's flat trading fields plus nested sections.

    Paper trading is the default and needs no keys; ``paper_trading=False`` (testnet or live)
    requires ``apikey`` and ``secret``. Plain construction uses arguments and defaults only; use
    :meth:`load` for arguments > environment > file > defaults, or :meth:`from_env`,
    :meth:`from_json`, :meth:`from_toml`. Instances are frozen; :meth:`replace` makes a
    validated copy. Secrets are ``SecretStr`` and never shown by ``repr``/``str``/:meth:`to_dict`.
    """

    exchange: str = "binance"
    apikey: SecretStr | None = None
    secret: SecretStr | None = None
    passphrase: SecretStr | None = None
    testnet: bool = False
    symbol: str = "BTC/USDT"
    timeframe: str = "1h"
    paper_trading: bool = True
    initial_cash: float = 10000.0
    commission: float = 0.001
    market_type: Literal["spot", "future", "delivery", "swap"] = "spot"
    sim_url: str | None = None
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    journal: JournalConfig = Field(default_factory=JournalConfig)

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

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        if self.paper_trading:
            return self
        missing = [name for name in ("apikey", "secret") if getattr(self, name) is None]
        if missing:
            raise PydanticCustomError(
                "missing_credentials",
                "{mode} trading needs apikey and secret; missing: {missing}",
                {"missing": missing, "mode": "testnet" if self.testnet else "live"},
            )
        return self

    # ----------------------------------------------------------------- views
    @property
    def trading_mode(self) -> Literal["paper", "testnet", "live"]:
        """``"paper"`` (simulated orders), ``"testnet"`` or ``"live"`` (real money)."""
        if self.paper_trading:
            return "paper"
        return "testnet" if self.testnet else "live"

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
        return cls._load(file, None, env_prefix, os.environ if env is None else env, overrides)

    @classmethod
    def from_env(cls, prefix: str = "RT_", *, env: Mapping[str, str] | None = None) -> Self:
        """Load environment > defaults (``os.environ`` unless ``env`` is given)."""
        return cls._load(None, None, prefix, os.environ if env is None else env, {})

    @classmethod
    def from_json(cls, filepath: str | Path) -> Self:
        """Load a JSON file > defaults (the environment is not read)."""
        return cls._load(filepath, "json", "RT_", None, {})

    @classmethod
    def from_toml(cls, filepath: str | Path) -> Self:
        """Load a TOML file > defaults (the environment is not read)."""
        return cls._load(filepath, "toml", "RT_", None, {})

    @classmethod
    def _load(
        cls,
        file: str | Path | None,
        fmt: Literal["json", "toml"] | None,
        env_prefix: str,
        env: Mapping[str, str] | None,
        overrides: Mapping[str, Any],
    ) -> Self:
        data: dict[str, Any] = {}
        origins = _Origins(fallback=None, env_prefix=env_prefix)
        if file is not None:
            path = Path(file).expanduser()
            file_origin = _Origin("file", str(path))
            _merge_layer(data, _read_file(path, fmt), origins, lambda _path: file_origin)
        if env is not None:
            env_data, env_origin = _read_env(cls, env, env_prefix)
            _merge_layer(data, env_data, origins, env_origin)
        _merge_layer(data, overrides, origins, lambda _path: _ARGUMENT)
        return cls._validate_from(data, origins)


# --------------------------------------------------------------------------- layers
def _merge_layer(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    origins: _Origins,
    origin_for: Callable[[tuple[str, ...]], _Origin],
    path: tuple[str, ...] = (),
) -> None:
    """Deep-merge ``layer`` into ``target``, recording the origin of every path it sets."""
    for key, value in layer.items():
        here = (*path, str(key))
        if isinstance(value, BaseModel):
            value = value.model_dump(exclude_unset=True)
        if isinstance(value, Mapping):
            if not isinstance(target.get(key), dict):
                target[key] = {}
                origins.forget_below(here)
            origins.paths[here] = origin_for(here)
            _merge_layer(target[key], value, origins, origin_for, here)
        else:
            target[key] = value
            origins.forget_below(here)
            origins.paths[here] = origin_for(here)


def _problem(message: str, fix: str, field: str | None = None) -> ConfigError:
    """A ConfigError whose text carries the problem and the fix (secrets masked)."""
    fix = mask_secrets(fix)
    return ConfigError(f"{mask_secrets(message)}. Fix: {fix}.", field=field, fix=fix)


def _read_file(path: Path, fmt: Literal["json", "toml"] | None) -> dict[str, Any]:
    """Read a TOML or JSON config file into a dict, or raise ConfigError naming the path."""
    if fmt is None:
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise _problem(
                f"config file {path} has an unsupported suffix {suffix or '(none)'!r} "
                "(use .toml or .json)",
                f"rename {path} to end in .toml or .json to match its content",
            )
        fmt = "toml" if suffix == ".toml" else "json"
    error: ConfigError | None = None
    try:
        text = path.read_text(encoding="utf-8")
        loaded = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except FileNotFoundError:
        error = _problem(
            f"config file {path} does not exist",
            f"create {path}, or point to an existing .toml or .json file",
        )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        error = _problem(
            f"config file {path} is not valid {fmt.upper()}: {mask_secrets(str(exc))}",
            f"correct the {fmt.upper()} syntax of {path} at the position given",
        )
    except OSError as exc:
        error = _problem(
            f"config file {path} cannot be read: {exc.strerror or type(exc).__name__}",
            f"check that {path} is a readable file",
        )
    if error is not None:
        raise error
    if not isinstance(loaded, dict):
        raise _problem(
            f"config file {path} must hold a table/object of settings at the top level, "
            f"not a {type(loaded).__name__}",
            f"write {path} as key = value pairs (TOML) or a JSON object",
        )
    return loaded


def _env_names(model: type[BaseModel], stem: str = "") -> list[str]:
    """Every environment-variable name (after the prefix, upper case) the model accepts."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        full = f"{stem}{name.upper()}"
        names.append(full)
        section = _section_type(info.annotation)
        if section is not None:
            names.extend(_env_names(section, full + _ENV_DELIMITER))
    return names


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment parsing, fed from a given mapping instead of os.environ."""

    def __init__(self, model: type[BaseModel], env: Mapping[str, str], prefix: str) -> None:
        self._mapping = dict(env)
        super().__init__(
            cast("type[BaseSettings]", model),
            case_sensitive=False,
            env_prefix=prefix,
            env_nested_delimiter=_ENV_DELIMITER,
            env_ignore_empty=True,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._mapping.items() if v != ""}


def _read_env(
    model: type[BaseModel], env: Mapping[str, str], prefix: str
) -> tuple[dict[str, Any], Callable[[tuple[str, ...]], _Origin]]:
    """Parse the prefixed variables of ``env``; warn about unknown ones and drop them."""
    upper_prefix = prefix.upper()
    valid = set(_env_names(model))
    known: dict[str, str] = {}
    for key, value in env.items():
        upper = key.upper()
        if not upper.startswith(upper_prefix):
            continue
        rest = upper[len(upper_prefix) :]
        if rest in valid:
            known[key] = value
        elif prefix and rest not in PROCESS_ENV_VARS:
            close = difflib.get_close_matches(rest, sorted(valid), n=1)
            hint = f"; did you mean {prefix}{close[0]}?" if close else ""
            _log.warning("ignoring unknown environment variable %s%s", key, hint)
    actual = {key.upper(): key for key in known}

    def origin(path: tuple[str, ...]) -> _Origin:
        for end in range(len(path), 0, -1):
            name = upper_prefix + _ENV_DELIMITER.join(path[:end]).upper()
            if name in actual:
                return _Origin("env", actual[name])
        return _Origin("env", upper_prefix + _ENV_DELIMITER.join(path).upper())

    error: ConfigError | None = None
    try:
        data = _MappingEnvSource(model, known, prefix)()
    except (SettingsError, ValueError) as exc:
        match = re.search(r'field "(\w+)"', str(exc))
        var = origin((match.group(1),)).name if match else f"{prefix}*"
        error = _problem(
            f"environment variable {var} is not valid JSON for a nested section",
            f"set {var} to a JSON object, or use {var}{_ENV_DELIMITER}<FIELD> variables",
            field=match.group(1).lower() if match else None,
        )
    if error is not None:
        raise error
    return data, origin
