"""``ApiKey``: one venue credential (seed 003), plain text in memory only, masked in any repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiKey", "mask_key"]


def mask_key(value: str | None) -> str:
    """``value`` shortened to its first four characters (``'abcd…'``), or ``'-'`` when empty.

    Enough for an operator to tell two keys apart, never enough to use one.
    """
    if not value:
        return "-"
    return f"{value[:4]}…" if len(value) > 8 else "…"


@dataclass(frozen=True)
class ApiKey:
    """An exchange API key: ``api_key``, ``api_secret``, ``passphrase`` (OKX and others) and the
    ccxt ``exchange`` id it belongs to. ``repr``/``str`` show the exchange and a masked key only.
    """

    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    passphrase: str = field(default="", repr=False)
    exchange: str = ""

    def __post_init__(self) -> None:
        """Strip the fields and lower-case the exchange id; refuse a blank key or secret."""
        for name in ("api_key", "api_secret", "passphrase"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"ApiKey.{name} must be a str")
            object.__setattr__(self, name, value.strip())
        object.__setattr__(self, "exchange", str(self.exchange or "").strip().lower())
        if not self.api_key or not self.api_secret:
            raise ValueError("ApiKey needs a non-blank api_key and api_secret")

    @property
    def masked(self) -> str:
        """The API key masked for display (:func:`mask_key`)."""
        return mask_key(self.api_key)

    def __repr__(self) -> str:
        """The exchange and the masked key; never the secret or the passphrase."""
        extra = ", passphrase=***" if self.passphrase else ""
        return f"ApiKey(exchange={self.exchange!r}, api_key={self.masked!r}{extra})"

    __str__ = __repr__

    def store_kwargs(self) -> dict[str, Any]:
        """``apikey``, ``secret`` and ``passphrase`` as a store takes them (``SecretStr``, so a
        stray repr shows nothing): ``BinanceStore(**key.store_kwargs(), testnet=True)``."""
        from pydantic import SecretStr

        return {
            "apikey": SecretStr(self.api_key),
            "secret": SecretStr(self.api_secret),
            "passphrase": SecretStr(self.passphrase) if self.passphrase else None,
        }

    def to_plain(self) -> dict[str, str]:
        """The fields as a dict of plain strings (for the encrypted file only)."""
        return {
            "exchange": self.exchange,
            "api_key": self.api_key,
            "api_secret": self.api_secret,
            "passphrase": self.passphrase,
        }

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> ApiKey:
        """The key :meth:`to_plain` wrote."""
        return cls(
            api_key=str(data["api_key"]),
            api_secret=str(data["api_secret"]),
            passphrase=str(data.get("passphrase") or ""),
            exchange=str(data.get("exchange") or ""),
        )
