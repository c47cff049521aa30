"""``ClientArgs``: what a store asks of its :class:`~real_trade.venues.client.VenueClient`.

A store's constructor arguments, resolved once: credentials as plain text (``SecretStr``
unwrapped), the simulator URL in effect (``sim_url``, else ``RT_SIM_URL``), the proxy (None:
the system's, never for the simulator; ``""``: none) and the bus (None: the process bus).
:meth:`ClientArgs.hook_kwargs` are the keywords of a store's ``_create_exchange`` hook, and
:meth:`ClientArgs.client_from` turns what the hook made into the client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from real_trade.bus import EventBus, get_bus
from real_trade.utils.secrets import plain_secret
from real_trade.venues.adopt import client_from_hook
from real_trade.venues.client import VenueClient
from real_trade.venues.proxy import detect_system_proxy
from real_trade.venues.urls import effective_sim_url

__all__ = ["ClientArgs", "CredentialField"]


@dataclass(frozen=True)
class ClientArgs:
    """The resolved arguments of one venue client (see the module docstring)."""

    apikey: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    testnet: bool = False
    demo: bool = False
    market_type: str = "spot"
    sim_url: str | None = None
    proxy: str | None = None
    bus: EventBus | None = field(default=None, repr=False)
    options: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def resolve(
        cls,
        apikey: Any = None,
        secret: Any = None,
        passphrase: Any = None,
        *,
        testnet: bool = False,
        demo: bool = False,
        market_type: str = "spot",
        sim_url: str | None = None,
        proxy: str | None = None,
        bus: EventBus | None = None,
        options: dict[str, Any] | None = None,
        detect_proxy: Callable[[str | None], str | None] = detect_system_proxy,
    ) -> ClientArgs:
        """The arguments as given to a store, resolved (``detect_proxy(target)`` finds the
        system proxy when ``proxy`` is None)."""
        effective = effective_sim_url(sim_url)
        return cls(
            apikey=plain_secret(apikey),
            secret=plain_secret(secret),
            passphrase=plain_secret(passphrase),
            testnet=bool(testnet),
            demo=bool(demo),
            market_type=market_type,
            sim_url=effective,
            proxy=detect_proxy(effective) if proxy is None else (proxy or None),
            bus=bus if bus is not None else get_bus(),
            options=dict(options or {}),
        )

    @property
    def credentials(self) -> dict[str, str | None]:
        """``apikey``, ``secret`` and ``passphrase`` (plain text)."""
        return {"apikey": self.apikey, "secret": self.secret, "passphrase": self.passphrase}

    def hook_kwargs(self) -> dict[str, Any]:
        """The keywords of a store's ``_create_exchange`` (as :class:`VenueClient` takes them)."""
        return {
            **self.credentials,
            "testnet": self.testnet,
            "demo": self.demo,
            "market_type": self.market_type,
            "sim_url": self.sim_url,
            "proxy": self.proxy,
            "bus": self.bus,
            **self.options,
        }

    def client_from(self, built: Any, owner: str) -> VenueClient:
        """The client behind what ``owner``'s hook made (:func:`~real_trade.venues.adopt.
        client_from_hook`): a :class:`VenueClient` as is, a ccxt object adopted."""
        return client_from_hook(
            built,
            owner=owner,
            market_type=self.market_type,
            testnet=self.testnet,
            demo=self.demo,
            sim_url=self.sim_url,
            proxy=self.proxy,
            bus=self.bus,
            **self.options,
        )


class CredentialField:
    """A read-only attribute of one credential (``apikey``, ``secret`` or ``passphrase``) in its
    owner's ``_credentials`` mapping (plain text; a store's, for a ``_create_exchange`` hook)."""

    def __init__(self, name: str, doc: str) -> None:
        """The field ``name``, documented by ``doc``."""
        self.name, self.__doc__ = name, doc

    @overload
    def __get__(self, owner: None, owner_type: type | None = None) -> CredentialField: ...

    @overload
    def __get__(self, owner: object, owner_type: type | None = None) -> str | None: ...

    def __get__(self, owner: Any, owner_type: type | None = None) -> Any:
        """The credential of ``owner`` (the field itself on the class)."""
        if owner is None:
            return self
        value: str | None = owner._credentials[self.name]
        return value
