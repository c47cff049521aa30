"""The ``[api]`` section of the one config system: the control API and its web dashboard.

Off by default. ``real-trade serve CONFIG.toml`` serves it whatever ``enabled`` says;
``enabled = true`` makes ``real-trade run`` serve it beside the run. It listens on ``host``:
``port`` (default ``127.0.0.1:8787``, loopback only); any other address is refused unless the
server has TLS (``tls_cert`` and ``tls_key``) or ``allow_remote = true`` says the operator put
something safe in front (an SSH tunnel is the advice: see the README). Tokens are stored
hashed, with the API keys in the encrypted key file when the config names a stored key
(``token_store = "auto"``, the default, or ``"keys"``), else in ``token_file`` (``"file"``;
default ``~/.real_trade/api_tokens.json``, mode 0600); the first start with none creates one
and prints it once. ``cors_origins`` lists the browser origins allowed
to call it from another page (none by default: the dashboard is served by the same process).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import field_validator, model_validator
from typing_extensions import Self

from real_trade.config.listen import ListenSection

__all__ = ["DEFAULT_API_PORT", "ApiConfig"]

DEFAULT_API_PORT = 8787
"""The port the control API listens on unless ``[api] port`` says otherwise."""


class ApiConfig(ListenSection):
    """Where and how the control API listens (module docstring)."""

    _section_path: ClassVar[str] = "api"

    enabled: bool = False
    port: int = DEFAULT_API_PORT
    allow_remote: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    token_file: str | None = None
    token_store: Literal["auto", "keys", "file"] = "auto"  # noqa: S105 (a choice, not a secret)
    token_ttl_hours: float = 24.0 * 7
    cors_origins: list[str] = []
    max_body_bytes: int = 16 * 1024
    failed_logins_per_minute: int = 10

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin.strip() == "*" or "://" not in origin:
                raise ValueError(
                    f"{origin!r}: list exact origins such as https://ops.example.com ('*' is "
                    "refused: the API takes credentials)"
                )
        return [o.strip().rstrip("/") for o in value]

    @field_validator("token_ttl_hours")
    @classmethod
    def _check_ttl(cls, value: float) -> float:
        if not 0 < value <= 24 * 366:
            raise ValueError("must be more than 0 and at most a year of hours")
        return value

    @field_validator("max_body_bytes", "failed_logins_per_minute")
    @classmethod
    def _check_positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @model_validator(mode="after")
    def _check_tls_pair(self) -> Self:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS."""
        return bool(self.tls_cert and self.tls_key)
