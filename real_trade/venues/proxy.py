"""System proxy detection, and its translation into ccxt's proxy settings.

A trader behind a corporate or regional proxy should not have to configure real_trade twice:
:func:`detect_system_proxy` reads ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` (either case)
and then :func:`urllib.request.getproxies` (which also reads the Windows registry and macOS system
settings). A proxy is never used for a loopback target (the simulator): ``target`` URLs on
``localhost``/``127.0.0.0/8``/``::1`` always get ``None``, and so do hosts listed in ``NO_PROXY``.
:func:`ccxt_proxy_settings` turns one proxy URL into the ccxt attributes for REST and websockets.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping

from real_trade.errors import ConfigError

__all__ = ["ccxt_proxy_settings", "detect_system_proxy", "is_loopback_url", "mask_proxy_url"]

_ENV_NAMES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")
_HTTP_SCHEMES = frozenset({"http", "https"})
_SOCKS_SCHEMES = frozenset({"socks", "socks4", "socks4a", "socks5", "socks5h"})


def is_loopback_url(url: str | None) -> bool:
    """Tell whether ``url`` (``http://127.0.0.1:8765``, ``ws://[::1]:1``) targets this machine."""
    if not url:
        return False
    host = urllib.parse.urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bypassed(target: str, env: Mapping[str, str]) -> bool:
    """Whether ``NO_PROXY`` (either case) lists the target's host (suffix match, ``*`` = all)."""
    no_proxy = env.get("NO_PROXY") or env.get("no_proxy") or ""
    host = (urllib.parse.urlsplit(target).hostname or "").lower()
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.lstrip(".")
        if host == entry or host.endswith("." + entry):
            return True
    return False


def detect_system_proxy(
    target: str | None = None, env: Mapping[str, str] | None = None
) -> str | None:
    """Return the proxy URL the system asks for, or ``None`` when there is none or none applies.

    Looks at ``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` (upper or lower case) in ``env``
    (``os.environ`` when None), then, only when ``env`` is None, at
    :func:`urllib.request.getproxies`. ``target`` is the URL about to be contacted: a loopback
    target (the simulator) or one listed in ``NO_PROXY`` never gets a proxy.
    """
    if is_loopback_url(target):
        return None
    source = os.environ if env is None else env
    if target is not None and _bypassed(target, source):
        return None
    for name in _ENV_NAMES:
        value = (source.get(name) or source.get(name.lower()) or "").strip()
        if value:
            return value
    if env is None:
        system = urllib.request.getproxies()
        for scheme in ("https", "http", "all"):
            value = (system.get(scheme) or "").strip()
            if value:
                return value
    return None


def mask_proxy_url(proxy: str | None) -> str | None:
    """The proxy URL with any ``user:password@`` replaced by ``***@`` (for reprs and logs)."""
    if not proxy:
        return proxy
    parts = urllib.parse.urlsplit(proxy)
    if "@" not in parts.netloc:
        return proxy
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))


def ccxt_proxy_settings(proxy: str | None) -> dict[str, str]:
    """The ccxt exchange attributes that route REST and websockets through ``proxy``.

    ``http://`` / ``https://`` proxies become ``httpsProxy`` and ``wsProxy``; ``socks5://`` and
    the other SOCKS schemes become ``socksProxy`` and ``wsSocksProxy``. ``None`` or an empty
    string gives ``{}``. Any other scheme raises ConfigError naming the ``proxy`` field.
    """
    if not proxy:
        return {}
    scheme = urllib.parse.urlsplit(proxy).scheme.lower()
    if scheme in _HTTP_SCHEMES:
        return {"httpsProxy": proxy, "wsProxy": proxy}
    if scheme in _SOCKS_SCHEMES:
        return {"socksProxy": proxy, "wsSocksProxy": proxy}
    raise ConfigError(
        f"unsupported proxy URL {mask_proxy_url(proxy)!r}",
        field="proxy",
        fix="give http://host:port, https://host:port or socks5://host:port",
    )
