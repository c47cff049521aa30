"""The encrypted envelope of the key file: scrypt from a passphrase, then AES-256-GCM.

A file is one JSON object::

    {"format": "real_trade.keys", "version": 1,
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
     "cipher": {"name": "aes-256-gcm", "nonce": "<base64, 12 bytes>"},
     "check": "<base64>", "ciphertext": "<base64>"}

Every :func:`seal` draws a fresh salt and nonce, so two writes of the same content differ. The
KDF parameters travel in the file, so a file written with older (weaker) ones still opens and
:attr:`KdfParams.weaker_than` tells the caller to re-encrypt it. scrypt derives 64 bytes: the
first 32 are the AES key, the last 32 key an HMAC ``check`` that tells a wrong passphrase apart
from a changed file. The header (everything but the ciphertext) is the GCM associated data, so
changing a parameter, the check or the ciphertext makes :func:`unseal` fail. ``cryptography`` is
imported only here, only when a file is sealed or opened.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from typing import Any

from real_trade.keys.errors import KeyFileCorruptError, WrongPassphraseError

__all__ = ["CURRENT_KDF", "FORMAT", "VERSION", "KdfParams", "seal", "unseal"]

FORMAT = "real_trade.keys"
VERSION = 1
_CIPHER = "aes-256-gcm"
_SALT_BYTES = 16
_NONCE_BYTES = 12
_CHECK_LABEL = b"real_trade.keys passphrase check"
_FIX_CORRUPT = "restore the file from a backup, or remove it and add the keys again"


@dataclass(frozen=True)
class KdfParams:
    """scrypt's cost parameters: ``n`` (CPU/memory cost, a power of two), ``r`` and ``p``."""

    n: int = 2**17
    r: int = 8
    p: int = 1
    name: str = "scrypt"

    def __post_init__(self) -> None:
        """Refuse parameters scrypt cannot use, or that would exhaust memory (a hostile file)."""
        if self.name != "scrypt":
            raise KeyFileCorruptError(
                f"key file uses the unknown key derivation {self.name!r}", fix=_FIX_CORRUPT
            )
        ok = (
            isinstance(self.n, int)
            and 2 <= self.n <= 2**22
            and self.n & (self.n - 1) == 0
            and isinstance(self.r, int)
            and 1 <= self.r <= 32
            and isinstance(self.p, int)
            and 1 <= self.p <= 16
        )
        if not ok:
            raise KeyFileCorruptError(
                f"key file has impossible scrypt parameters n={self.n} r={self.r} p={self.p}",
                fix=_FIX_CORRUPT,
            )

    @property
    def cost(self) -> int:
        """The work of one derivation, in scrypt's units (``n * r * p``)."""
        return self.n * self.r * self.p

    def weaker_than(self, other: KdfParams) -> bool:
        """Whether a file written with these parameters should be re-encrypted with ``other``."""
        return self.n < other.n or self.r < other.r or self.cost < other.cost

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        """64 bytes from ``passphrase`` and ``salt``: the cipher key, then the check key."""
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        kdf = Scrypt(salt=salt, length=64, n=self.n, r=self.r, p=self.p)
        return kdf.derive(passphrase.encode("utf-8"))


CURRENT_KDF = KdfParams()
"""scrypt N=2^17, r=8, p=1: the OWASP Password Storage Cheat Sheet's minimum (128 MiB)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        message = f"key file field {what} is not base64"
        raise KeyFileCorruptError(message, fix=_FIX_CORRUPT) from None


def _check_value(check_key: bytes) -> bytes:
    return hmac.new(check_key, _CHECK_LABEL, hashlib.sha256).digest()


def _associated_data(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def seal(plaintext: bytes, passphrase: str, kdf: KdfParams = CURRENT_KDF) -> dict[str, Any]:
    """The envelope of ``plaintext`` under ``passphrase``, with a fresh salt and nonce."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(_SALT_BYTES), os.urandom(_NONCE_BYTES)
    derived = kdf.derive(passphrase, salt)
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {"name": kdf.name, "n": kdf.n, "r": kdf.r, "p": kdf.p, "salt": _b64(salt)},
        "cipher": {"name": _CIPHER, "nonce": _b64(nonce)},
        "check": _b64(_check_value(derived[32:])),
    }
    sealed = AESGCM(derived[:32]).encrypt(nonce, plaintext, _associated_data(header))
    return {**header, "ciphertext": _b64(sealed)}


def unseal(envelope: Any, passphrase: str) -> tuple[bytes, KdfParams]:
    """The plaintext of ``envelope`` and the KDF parameters it was written with.

    Raises :class:`WrongPassphraseError` when the passphrase does not match the file's check,
    :class:`KeyFileCorruptError` when the file is not ours or any byte of it was changed.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise KeyFileCorruptError("not a real_trade key file", fix=_FIX_CORRUPT)
    if envelope.get("version") != VERSION:
        raise KeyFileCorruptError(
            f"key file version {envelope.get('version')!r} is not supported (this is {VERSION})",
            fix="use the real_trade version that wrote it, or add the keys again",
        )
    try:
        kdf_data, cipher = dict(envelope["kdf"]), dict(envelope["cipher"])
        kdf = KdfParams(n=kdf_data["n"], r=kdf_data["r"], p=kdf_data["p"], name=kdf_data["name"])
        salt, nonce = _unb64(kdf_data["salt"], "kdf.salt"), _unb64(cipher["nonce"], "nonce")
        check, sealed = _unb64(envelope["check"], "check"), _unb64(envelope["ciphertext"], "data")
    except (KeyError, TypeError, ValueError):
        raise KeyFileCorruptError("key file is missing fields", fix=_FIX_CORRUPT) from None
    if cipher.get("name") != _CIPHER or len(nonce) != _NONCE_BYTES:
        raise KeyFileCorruptError("key file uses an unknown cipher", fix=_FIX_CORRUPT)
    derived = kdf.derive(passphrase, salt)
    if not hmac.compare_digest(_check_value(derived[32:]), check):
        raise WrongPassphraseError(
            "wrong passphrase for the key file",
            fix="give the passphrase the file was written with (prompt, RT_KEYS_PASSPHRASE or "
            "the OS keyring); a lost passphrase cannot be recovered: remove the file and add "
            "the keys again",
        )
    header = {k: v for k, v in envelope.items() if k != "ciphertext"}
    try:
        plaintext = AESGCM(derived[:32]).decrypt(nonce, sealed, _associated_data(header))
    except InvalidTag:
        raise KeyFileCorruptError(
            "key file was changed after it was written (authentication failed)",
            fix=_FIX_CORRUPT,
        ) from None
    return plaintext, kdf
