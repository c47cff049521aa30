"""``CCXTStore``: a store on any exchange ccxt knows, by its id (``CCXTStore(exchange="kraken")``).

The venue spec is derived from ccxt's own metadata (:func:`real_trade.venues.get_venue`), so a new
exchange needs no code; an unknown id raises ConfigError with the closest ccxt ids.
"""

from __future__ import annotations

from typing import Any

from real_trade.errors import ConfigError
from real_trade.stores.basestore import BaseStore
from real_trade.venues.spec import VenueSpec, get_venue

__all__ = ["CCXTStore"]


class CCXTStore(BaseStore):
    """A store on the ccxt exchange named by the ``exchange`` keyword (e.g. ``"kraken"``)."""

    def _venue_from(self, options: dict[str, Any]) -> VenueSpec:
        """The venue named by the ``exchange`` keyword (removed from the client's options)."""
        name = options.pop("exchange", None)
        if not name:
            raise ConfigError(
                "CCXTStore needs the exchange's ccxt id",
                field="exchange",
                fix='CCXTStore(exchange="kraken", ...)',
            )
        return get_venue(str(name))
