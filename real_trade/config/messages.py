"""Config error messages: a pydantic ValidationError becomes one readable ConfigError.

:func:`config_error` is the one converter used by :mod:`real_trade.config`. Each problem names
the field as a dotted path, the bad value (``<hidden>`` for a secret, URL passwords and
registered secrets masked), what is allowed, where the value came from (argument, environment
variable or file, from :class:`real_trade.config.sources.Origins`) and how to fix it; unknown
fields get the list of valid ones and the closest match; missing live-trading credentials get
the variables to set. Nothing here knows the config models themselves: fields are found by
walking the annotations of whatever model is passed in.
"""

from __future__ import annotations

import difflib
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from real_trade.config.sources import Origin, Origins, section_type
from real_trade.errors import ConfigError
from real_trade.utils.logger import MASK, mask_secrets

__all__ = [
    "config_error",
    "default_text",
    "field_at",
    "is_secret",
    "mask_url_password",
    "show_value",
]


# --------------------------------------------------------------------------- field introspection
def field_at(model: type[BaseModel], loc: Sequence[str]) -> FieldInfo | None:
    """The field of ``model`` at the path ``loc`` (through nested sections), or None."""
    current: type[BaseModel] | None = model
    info: FieldInfo | None = None
    for part in loc:
        if current is None:
            return None
        info = current.model_fields.get(part)
        if info is None:
            return None
        current = section_type(info.annotation)
    return info


def is_secret(info: FieldInfo | None) -> bool:
    """Whether the field holds a ``SecretStr`` (alone or in a union such as ``| None``)."""
    if info is None:
        return False
    return any(c is SecretStr for c in (info.annotation, *get_args(info.annotation)))


def default_text(info: FieldInfo | None) -> str | None:
    """The field's default as ``repr`` text for a message, or None (secret or not a scalar)."""
    if info is None or is_secret(info):
        return None
    default = info.get_default(call_default_factory=True)
    if isinstance(default, str | int | float | bool):
        return repr(default)
    return None


def mask_url_password(url: str) -> str:
    """``url`` with the password of its user-info part (if any) replaced by the mask."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def show_value(value: Any, secret: bool) -> str:
    """A bad value as shown in a message: hidden if secret, masked, shortened, or its type."""
    if secret:
        return "<hidden>"
    if value is None or isinstance(value, str | int | float | bool):
        text = repr(value)
        if isinstance(value, str) and "://" in value:
            text = repr(mask_url_password(value))
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
    model: type[BaseModel], loc: Sequence[str], dotted: str, origin: Origin | None
) -> tuple[str, str]:
    parent = (
        model
        if len(loc) == 1
        else section_type(getattr(field_at(model, loc[:-1]), "annotation", None))
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


def _credentials_message(ctx: Mapping[str, Any], origins: Origins) -> tuple[str, str, str]:
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
        "or name a key stored with 'real-trade keys add NAME' (key = \"NAME\"), "
        f"or set paper_trading=True ({prefix}PAPER_TRADING=true) to trade on paper without keys."
    )
    return missing[0], message, fix


def config_error(
    model: type[BaseModel], exc: ValidationError, origins: Origins, prefix: str = ""
) -> ConfigError:
    """Turn a pydantic ValidationError into one ConfigError, never echoing a secret.

    ``model`` is the model that was validated, ``origins`` says where each value came from and
    ``prefix`` is the model's dotted path inside the whole config (``"logging"`` for a section
    validated on its own). The error's ``field`` is the first bad field, ``fix`` the joined fixes.
    """
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
            info = field_at(model, loc) if loc else None
            origin = origins.lookup(loc)
            where = f" (from {origin.describe(loc)})" if origin is not None else ""
            shown = f" = {show_value(err.get('input'), is_secret(info))}" if loc else ""
            subject = f"config field '{dotted}'" if loc else "config"
            requirement = _requirement(err["msg"])
            stop = "" if requirement.endswith((".", "?", "!")) else "."
            message = f"{subject}{shown}{where} is invalid: {requirement}{stop}"
            default = default_text(info)
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
