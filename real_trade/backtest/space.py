"""The parameter space of a sweep: ``--param NAME=START:STOP:STEP`` or ``--param NAME=A,B,C``.

``fast=5:30:5`` is 5, 10, ..., 30 (the stop included when the step lands on it); integers stay
integers, a float anywhere makes the range floats (``0.01:0.05:0.01``); ``mode=a,b`` lists
values (numbers, ``true``/``false`` or words); ``size=0.02`` fixes one value. :func:`grid`
walks every combination in a fixed order; :func:`suggest` asks an Optuna trial for a point.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from real_trade.errors import ConfigError

__all__ = ["ParamRange", "grid", "grid_size", "parse_param", "suggest"]

_MAX_POINTS = 100_000


def _scalar(text: str) -> Any:
    word = text.strip()
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            continue
    return word


@dataclass(frozen=True)
class ParamRange:
    """One swept parameter: a numeric range (``low``..``high`` by ``step``) or listed values."""

    name: str
    kind: Literal["int", "float", "choice"]
    values: tuple[Any, ...]
    low: float = 0.0
    high: float = 0.0
    step: float = 0.0

    def describe(self) -> str:
        """``fast=5:30:5 (6 values)`` or ``mode=a,b (2 values)``."""
        if self.kind == "choice":
            return f"{self.name}={','.join(map(str, self.values))} ({len(self.values)} values)"
        return f"{self.name}={self.low:g}:{self.high:g}:{self.step:g} ({len(self.values)} values)"


def _bad(text: str, why: str) -> ConfigError:
    return ConfigError(
        f"--param {text!r}: {why}",
        field="param",
        fix="write NAME=START:STOP:STEP (fast=5:30:5) or NAME=A,B,C (mode=a,b)",
    )


def parse_param(text: str) -> ParamRange:
    """Parse one ``--param`` argument; ConfigError naming the mistake."""
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name.isidentifier() or not spec:
        raise _bad(text, "expected NAME=START:STOP:STEP or NAME=A,B,C")
    if ":" not in spec:
        values = tuple(_scalar(v) for v in spec.split(",") if v.strip())
        if not values:
            raise _bad(text, "no values")
        return ParamRange(name, "choice", values)
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise _bad(text, "a range has two or three parts, START:STOP[:STEP]")
    numbers = [_scalar(p) for p in parts]
    if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
        raise _bad(text, "START, STOP and STEP must be numbers")
    low, high = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if not all(math.isfinite(n) for n in (low, high, step)) or step <= 0:
        raise _bad(text, "the step must be a positive number")
    if high < low:
        raise _bad(text, f"STOP {high} is below START {low}")
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > _MAX_POINTS:
        raise _bad(text, f"{count} values is too many (at most {_MAX_POINTS})")
    if all(isinstance(n, int) for n in (low, high, step)):
        return ParamRange(name, "int", tuple(low + i * step for i in range(count)), low, high, step)
    decimals = max(_decimals(p) for p in parts)
    values = tuple(round(low + i * step, decimals) for i in range(count))
    return ParamRange(name, "float", values, float(low), float(values[-1]), float(step))


def _decimals(text: str) -> int:
    text = text.strip().lower()
    if "e" in text:
        return 12
    return len(text.partition(".")[2])


def grid_size(space: Sequence[ParamRange]) -> int:
    """How many combinations :func:`grid` walks."""
    return math.prod(len(p.values) for p in space)


def grid(space: Sequence[ParamRange]) -> Iterator[dict[str, Any]]:
    """Every combination, the last parameter varying fastest."""
    names = [p.name for p in space]
    for combo in itertools.product(*(p.values for p in space)):
        yield dict(zip(names, combo, strict=True))


def suggest(trial: Any, space: Sequence[ParamRange]) -> dict[str, Any]:
    """Ask an Optuna ``trial`` for one point of ``space`` (ranges keep their step)."""
    point: dict[str, Any] = {}
    for p in space:
        if len(p.values) == 1:
            point[p.name] = p.values[0]
        elif p.kind == "int":
            point[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high), step=int(p.step))
        elif p.kind == "float":
            index = trial.suggest_int(f"{p.name}__index", 0, len(p.values) - 1)
            point[p.name] = p.values[index]
        else:
            point[p.name] = trial.suggest_categorical(p.name, list(p.values))
    return point
