"""Typed reads of a REST request's parameters, shared by the faces that parse them alike.

A face's request object derives from :class:`ParamReader`, holds ``params`` and says how its
venue refuses a missing and a malformed parameter (:meth:`ParamReader.missing`,
:meth:`ParamReader.malformed`); the reading itself is written once here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

__all__ = ["ParamReader"]

T = TypeVar("T")


class ParamReader:
    """``str_param``, ``need``, ``int_param``, ``clamped_int`` and ``decimal_param`` over
    ``self.params`` (module docstring)."""

    params: dict[str, Any]

    def missing(self, name: str) -> Exception:
        """The venue's refusal of a required parameter that is absent."""
        raise NotImplementedError

    def malformed(self, name: str) -> Exception:
        """The venue's refusal of a parameter that does not parse."""
        raise NotImplementedError

    def str_param(self, name: str, default: str | None = None) -> str | None:
        """``name`` as a string (JSON bodies may carry numbers or booleans)."""
        value = self.params.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def need(self, name: str) -> str:
        """A required parameter; the venue's refusal when it is missing."""
        value = self.str_param(name)
        if value is None:
            raise self.missing(name)
        return value

    def _parsed(self, name: str, parse: Callable[[str], T]) -> T | None:
        """``parse`` of parameter ``name`` (None when absent); the venue's refusal when it does
        not parse (``int`` raises ValueError, ``Decimal`` InvalidOperation, an ArithmeticError)."""
        raw = self.str_param(name)
        if raw is None:
            return None
        try:
            return parse(raw)
        except (ValueError, ArithmeticError):
            raise self.malformed(name) from None

    def int_param(self, name: str, default: int) -> int:
        """An integer parameter; the venue's refusal when it is malformed."""
        value = self._parsed(name, int)
        return default if value is None else value

    def clamped_int(self, name: str, default: int, high: int) -> int:
        """An integer parameter such as a page size, brought into ``1..high`` (as Bybit and OKX
        treat an out-of-range ``limit``); the venue's refusal when it is malformed."""
        return max(1, min(self.int_param(name, default), high))

    def decimal_param(self, name: str) -> Decimal | None:
        """A decimal parameter (None when absent); the venue's refusal when it is malformed."""
        return self._parsed(name, Decimal)
