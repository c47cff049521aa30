"""``OKXStore``: the OKX venue (v5 API), whose keys come with a passphrase.

Everything OKX-specific lives in the venue table (:data:`real_trade.venues.OKX`): it requires a
passphrase, so credentials without one raise ConfigError naming ``passphrase``; ``testnet=True``
means OKX's demo trading (OKX has no separate testnet).
"""

from __future__ import annotations

from typing import ClassVar

from real_trade.stores.basestore import BaseStore
from real_trade.venues.spec import OKX, VenueSpec

__all__ = ["OKXStore"]


class OKXStore(BaseStore):
    """A store on OKX: ``OKXStore.get_instance(apikey, secret, passphrase=..., testnet=...)``."""

    venue: ClassVar[VenueSpec | None] = OKX
