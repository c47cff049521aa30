"""Server-side TLS: the one SSL context builder of the simulator and the control API.

The simulator serves https and wss when a venue's own client insists on TLS (python-okx's
websocket factory always passes an SSL context, which a plain ``ws://`` URL refuses); the
control API serves https when it listens beyond loopback. Either serves a certificate the
caller made (for tests, from a throwaway CA that the client trusts through ``SSL_CERT_FILE``);
neither makes or trusts one itself.
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = ["TlsSpec", "server_tls_context"]

TlsSpec = ssl.SSLContext | tuple[str | Path, str | Path]
"""A server SSL context, or the paths of a PEM certificate (chain) and its private key."""


def server_tls_context(tls: TlsSpec) -> ssl.SSLContext:
    """The server SSL context for ``tls``: returned as is, or built from ``(cert, key)`` PEM files.

    ``OSError`` for a missing file, ``ssl.SSLError`` (an ``OSError``) for a certificate and key
    that do not match or do not parse.
    """
    if isinstance(tls, ssl.SSLContext):
        return tls
    cert, key = tls
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return context
