"""Argument types shared by the ``real-trade`` subcommands: numbers checked as they are parsed.

Each is an ``argparse`` ``type=`` callable: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with a message naming what was wrong, which argparse prints with
the option's name.
"""

from __future__ import annotations

import argparse

__all__ = ["annual_rate", "fraction", "positive_float", "positive_int"]


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        return kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def positive_int(text: str) -> int:
    """An integer of at least 1."""
    value = int(_number(text, int))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    value = _number(text, float)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = _number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1, got {text!r}")
    return value


def annual_rate(text: str) -> float:
    """An annual rate as a fraction, above -0.5 and below 1 (0.04 is 4 %)."""
    value = _number(text, float)
    if not -0.5 < value < 1:
        raise argparse.ArgumentTypeError(f"an annual rate as a fraction (0.04 = 4%), got {text!r}")
    return value
