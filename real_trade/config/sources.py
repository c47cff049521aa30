"""Where configuration values come from: environment, files, arguments, and their origins.

The helpers behind :meth:`real_trade.config.RealTradeConfig.load`. :func:`read_file` reads a
TOML or JSON file; :func:`read_env` parses the prefixed environment variables with
pydantic-settings' ``EnvSettingsSource`` (``__`` between nested names), warning about unknown
ones; :func:`merge_layer` deep-merges one layer into the data while :class:`Origins` records,
per dotted path, which :class:`Origin` (argument, environment variable or file) set it, so an
error message can name the source of a bad value; :func:`collect_layers` does all of it in the
order file < environment < arguments. Nothing here knows the config models themselves: nested
sections are found from the field annotations of whatever model is passed in.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from pydantic import BaseModel
from pydantic_settings import EnvSettingsSource, SettingsError

from real_trade.errors import ConfigError
from real_trade.utils.logger import mask_secrets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

__all__ = [
    "ARGUMENT",
    "ENV_DELIMITER",
    "PROCESS_ENV_VARS",
    "Origin",
    "Origins",
    "collect_layers",
    "config_problem",
    "env_names",
    "merge_layer",
    "read_env",
    "read_file",
    "section_type",
]

# The warnings about unknown variables keep the logger name of the public config module.
_log = logging.getLogger("real_trade.config")

ENV_DELIMITER = "__"
"""Separator between nested names in environment variables (``RT_LOGGING__LEVEL``)."""

PROCESS_ENV_VARS: frozenset[str] = frozenset(
    {
        "CHAOS_SEED",
        "CRASH_AT",
        "DATA_DIR",
        "HISTORY_DIR",
        "KEYS_KEYRING",
        "KEYS_NEW_PASSPHRASE",
        "KEYS_PASSPHRASE",
        "NO_BT_HOOK",
        "REQUIRE_SERVICES",
        "TEST_POSTGRES_URL",
        "TEST_REDIS_URL",
    }
)
"""Names (after the prefix) of process-level ``RT_`` variables that are not config fields."""


# --------------------------------------------------------------------------- origins
@dataclass(frozen=True)
class Origin:
    """Where a value came from: an argument, an environment variable or a file."""

    kind: Literal["argument", "env", "file"]
    name: str = ""

    def describe(self, loc: Sequence[str]) -> str:
        """Name this origin for an error message, e.g. ``environment variable RT_SYMBOL``."""
        if self.kind == "env":
            return f"environment variable {self.name}"
        if self.kind == "file":
            return f"file {self.name}"
        return f"argument {loc[0]}" if loc else "arguments"

    def fix(self, dotted: str, default: str | None) -> str:
        """Say how to correct the value of ``dotted`` at this origin (mentioning its default)."""
        keep_default = f" to use the default {default}" if default is not None else ""
        if self.kind == "env":
            return f"set {self.name} to an allowed value, or unset it{keep_default}."
        if self.kind == "file":
            return (
                f"change '{dotted}' in {self.name} to an allowed value, or remove it{keep_default}."
            )
        return f"pass an allowed value for {dotted}, or leave it out{keep_default}."


ARGUMENT = Origin("argument")
"""The origin of every value passed as an argument."""


@dataclass
class Origins:
    """Origin per dotted path, looked up by longest prefix; ``fallback`` for unrecorded paths."""

    paths: dict[tuple[str, ...], Origin] = field(default_factory=dict)
    fallback: Origin | None = ARGUMENT
    env_prefix: str = "RT_"

    def lookup(self, loc: Sequence[str]) -> Origin | None:
        """The origin recorded for ``loc`` or its longest recorded prefix, else the fallback."""
        for end in range(len(loc), 0, -1):
            found = self.paths.get(tuple(loc[:end]))
            if found is not None:
                return found
        return self.fallback

    def forget_below(self, path: tuple[str, ...]) -> None:
        """Drop the origins recorded strictly below ``path`` (a later layer replaced it)."""
        for key in [k for k in self.paths if len(k) > len(path) and k[: len(path)] == path]:
            del self.paths[key]


# --------------------------------------------------------------------------- layers
def section_type(annotation: Any) -> type[BaseModel] | None:
    """The nested model class in a field annotation (``X`` or ``X | None``), or None."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def merge_layer(
    target: dict[str, Any],
    layer: Mapping[str, Any],
    origins: Origins,
    origin_for: Callable[[tuple[str, ...]], Origin],
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
            merge_layer(target[key], value, origins, origin_for, here)
        else:
            target[key] = value
            origins.forget_below(here)
            origins.paths[here] = origin_for(here)


def collect_layers(
    model: type[BaseModel],
    file: str | Path | None,
    fmt: Literal["json", "toml"] | None,
    env_prefix: str,
    env: Mapping[str, str] | None,
    overrides: Mapping[str, Any],
) -> tuple[dict[str, Any], Origins]:
    """Merge file < environment < arguments into one dict for ``model``, with their origins.

    ``file`` (when given) is read by :func:`read_file`; ``env`` (when given) by :func:`read_env`
    with ``env_prefix``; ``overrides`` are argument values. Defaults are left to the model.
    """
    data: dict[str, Any] = {}
    origins = Origins(fallback=None, env_prefix=env_prefix)
    if file is not None:
        path = Path(file).expanduser()
        file_origin = Origin("file", str(path))
        merge_layer(data, read_file(path, fmt), origins, lambda _path: file_origin)
    if env is not None:
        env_data, env_origin = read_env(model, env, env_prefix)
        merge_layer(data, env_data, origins, env_origin)
    merge_layer(data, overrides, origins, lambda _path: ARGUMENT)
    return data, origins


def config_problem(message: str, fix: str, field: str | None = None) -> ConfigError:
    """A ConfigError whose text carries the problem and the fix (secrets masked)."""
    fix = mask_secrets(fix)
    return ConfigError(f"{mask_secrets(message)}. Fix: {fix}.", field=field, fix=fix)


# --------------------------------------------------------------------------- files
def read_file(path: Path, fmt: Literal["json", "toml"] | None) -> dict[str, Any]:
    """Read a TOML or JSON config file into a dict, or raise ConfigError naming the path."""
    if fmt is None:
        suffix = path.suffix.lower()
        if suffix not in (".toml", ".json"):
            raise config_problem(
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
        error = config_problem(
            f"config file {path} does not exist",
            f"create {path}, or point to an existing .toml or .json file",
        )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        error = config_problem(
            f"config file {path} is not valid {fmt.upper()}: {mask_secrets(str(exc))}",
            f"correct the {fmt.upper()} syntax of {path} at the position given",
        )
    except OSError as exc:
        error = config_problem(
            f"config file {path} cannot be read: {exc.strerror or type(exc).__name__}",
            f"check that {path} is a readable file",
        )
    if error is not None:
        raise error
    if not isinstance(loaded, dict):
        raise config_problem(
            f"config file {path} must hold a table/object of settings at the top level, "
            f"not a {type(loaded).__name__}",
            f"write {path} as key = value pairs (TOML) or a JSON object",
        )
    return loaded


# --------------------------------------------------------------------------- environment
def env_names(model: type[BaseModel], stem: str = "") -> list[str]:
    """Every environment-variable name (after the prefix, upper case) the model accepts."""
    names: list[str] = []
    for name, info in model.model_fields.items():
        full = f"{stem}{name.upper()}"
        names.append(full)
        section = section_type(info.annotation)
        if section is not None:
            names.extend(env_names(section, full + ENV_DELIMITER))
    return names


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment parsing, fed from a given mapping instead of os.environ."""

    def __init__(self, model: type[BaseModel], env: Mapping[str, str], prefix: str) -> None:
        self._mapping = dict(env)
        super().__init__(
            cast("type[BaseSettings]", model),
            case_sensitive=False,
            env_prefix=prefix,
            env_nested_delimiter=ENV_DELIMITER,
            env_ignore_empty=True,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._mapping.items() if v != ""}


def read_env(
    model: type[BaseModel], env: Mapping[str, str], prefix: str
) -> tuple[dict[str, Any], Callable[[tuple[str, ...]], Origin]]:
    """Parse the prefixed variables of ``env``; warn about unknown ones and drop them.

    Returns the parsed data and a function giving the :class:`Origin` (the variable's name as
    written in ``env``) of each path it sets. Raises ConfigError for a nested section whose
    variable is not valid JSON.
    """
    upper_prefix = prefix.upper()
    valid = set(env_names(model))
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

    def origin(path: tuple[str, ...]) -> Origin:
        for end in range(len(path), 0, -1):
            name = upper_prefix + ENV_DELIMITER.join(path[:end]).upper()
            if name in actual:
                return Origin("env", actual[name])
        return Origin("env", upper_prefix + ENV_DELIMITER.join(path).upper())

    error: ConfigError | None = None
    try:
        data = _MappingEnvSource(model, known, prefix)()
    except (SettingsError, ValueError) as exc:
        match = re.search(r'field "(\w+)"', str(exc))
        var = origin((match.group(1),)).name if match else f"{prefix}*"
        error = config_problem(
            f"environment variable {var} is not valid JSON for a nested section",
            f"set {var} to a JSON object, or use {var}{ENV_DELIMITER}<FIELD> variables",
            field=match.group(1).lower() if match else None,
        )
    if error is not None:
        raise error
    return data, origin
