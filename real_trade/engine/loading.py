"""Finding a strategy class from its dotted path, and checking its parameters, with clear errors.

``load_strategy("real_trade.strategies:SmaCross")`` (or ``"real_trade.strategies.SmaCross"``)
imports the module and returns the class; every failure is a
:class:`~real_trade.errors.ConfigError` that names the config field, what went wrong and the
fix. :func:`check_strategy_params` refuses parameters the strategy does not declare before a
run starts, instead of a crash inside backtrader.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Mapping
from typing import Any

from real_trade.errors import ConfigError, redact

__all__ = ["check_strategy_params", "load_strategy", "resolve_strategy", "strategy_param_names"]

_EXAMPLE = "real_trade.strategies:SmaCross"


def _import_module(path: str, field: str) -> tuple[Any, str] | None:
    """Import the longest importable module prefix of ``path``; return it and the rest."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:cut])
        try:
            return importlib.import_module(name), ".".join(parts[cut:])
        except ModuleNotFoundError as exc:
            if exc.name is not None and not name.startswith(exc.name):
                raise _broken(path, exc, field) from None
            continue
        except Exception as exc:
            raise _broken(path, exc, field) from None
    return None


def _broken(path: str, exc: BaseException, field: str) -> ConfigError:
    return ConfigError(
        f"strategy {path!r} cannot be imported: {type(exc).__name__}: {redact(str(exc))}",
        field=field,
        fix="correct the module's error, or point the path at another strategy",
    )


def load_strategy(path: str | None, *, field: str = "strategy") -> type:
    """Import the strategy class at ``path`` (``"pkg.module:Class"`` or ``"pkg.module.Class"``).

    Returns the class (a ``backtrader.Strategy`` subclass); raises ConfigError naming
    ``field`` when the path is unset, the module does not import, the class is missing or it is
    not a strategy.
    """
    if not path or not path.strip():
        raise ConfigError(
            f"{field} is not set: which strategy should run?",
            field=field,
            fix=f'set {field} = "{_EXAMPLE}" (a dotted path to a class)',
        )
    path = path.strip()
    if ":" in path:
        module_name, _, attr = path.partition(":")
        try:
            module: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"strategy module {module_name!r} of {path!r} is not found ({exc.name} is missing)",
                field=field,
                fix="check the spelling and that the package is installed or on PYTHONPATH",
            ) from None
        except Exception as exc:
            raise _broken(path, exc, field) from None
    else:
        found = _import_module(path, field)
        if found is None:
            raise ConfigError(
                f"strategy {path!r} is not found: no module of it imports",
                field=field,
                fix=f'use a dotted path such as "{_EXAMPLE}", with the '
                "package installed or on PYTHONPATH",
            )
        module, attr = found
    obj = module
    for part in attr.split("."):
        nxt = getattr(obj, part, None)
        if nxt is None:
            names = [n for n in dir(obj) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"it has: {', '.join(names[:12])}"
            raise ConfigError(
                f"strategy {path!r}: {getattr(obj, '__name__', obj)!r} has no {part!r}",
                field=field,
                fix=hint,
            )
        obj = nxt
    import backtrader as bt

    if not (isinstance(obj, type) and issubclass(obj, bt.Strategy)):
        raise ConfigError(
            f"{path!r} is not a backtrader strategy class (got {obj!r})",
            field=field,
            fix="point it at a subclass of backtrader.Strategy",
        )
    return obj


def strategy_param_names(strategy_cls: type) -> list[str]:
    """The names of the parameters ``strategy_cls`` declares (backtrader ``params``)."""
    params = getattr(strategy_cls, "params", None)
    getkeys = getattr(params, "_getkeys", None)
    return list(getkeys()) if callable(getkeys) else []


def check_strategy_params(
    strategy_cls: type, params: Mapping[str, Any], *, field: str = "strategy_params"
) -> None:
    """Raise ConfigError naming ``field.<name>`` for a parameter ``strategy_cls`` lacks."""
    known = strategy_param_names(strategy_cls)
    for name in params:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{strategy_cls.__name__} has no parameter {name!r}",
                field=f"{field}.{name}",
                fix=f"{hint}its parameters are: {', '.join(known) or 'none'}",
            )


def resolve_strategy(
    config: Any, strategy_cls: type | None, strategy_params: Mapping[str, Any] | None
) -> tuple[type, dict[str, Any]]:
    """The strategy class (given, else ``config.run.strategy``) and its checked parameters
    (``config.run.params`` updated by ``strategy_params``); ConfigError naming the field."""
    if strategy_cls is None:
        if config.run.strategy is None:
            raise ConfigError(
                "TradingRunner needs a strategy class",
                field="strategy_cls",
                fix="TradingRunner(..., strategy_cls=YourStrategy), or run.strategy in the config",
            )
        strategy_cls = load_strategy(config.run.strategy, field="run.strategy")
    params = {**config.run.params, **dict(strategy_params or {})}
    field = "strategy_params" if strategy_params else "run.params"
    check_strategy_params(strategy_cls, params, field=field)
    return strategy_cls, params
