"""``ConfigSection``: the base of every section of the one config system.

A section is a frozen pydantic model that forbids unknown fields, turns every validation error
into a :class:`~real_trade.errors.ConfigError` naming the dotted field, the (masked) value, its
source and the fix, registers secret values with the logging mask, and offers ``replace()`` for
checked copies. :class:`real_trade.config.RealTradeConfig` and the sections of other packages
(``real_trade.risk.config.LiveRiskConfig``) subclass it; it lives apart from the root config so
that those packages can define their sections without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from typing_extensions import Self

from real_trade.config.messages import config_error, is_secret
from real_trade.config.sources import (
    ARGUMENT,
    Origins,
    merge_layer,
)
from real_trade.errors import ConfigError
from real_trade.utils.logger import MASK, register_secret

__all__ = ["ConfigSection"]


class ConfigSection(BaseModel):
    """Base of every config model: frozen, unknown fields forbidden, errors as ConfigError.

    Subclasses declare fields as usual. Construction, ``model_validate`` and
    ``model_validate_json`` raise :class:`real_trade.errors.ConfigError` (never pydantic's
    ``ValidationError``, whose text could echo an input). Every ``SecretStr`` field is stripped,
    rejected when it holds the mask itself, and registered with the log mask once validated.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    _section_path: ClassVar[str] = ""

    def __init__(self, **data: Any) -> None:
        """Validate ``data`` (arguments and defaults only); raise ConfigError when invalid."""
        error: ConfigError | None = None
        try:
            super().__init__(**data)
        except ValidationError as exc:
            error = config_error(type(self), exc, Origins(), self._section_path)
        if error is not None:
            raise error

    # Like pydantic-settings' BaseSettings: tell pydantic this __init__ only wraps the base one,
    # so nested and direct validation run the plain schema (errors converted by the caller).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    def replace(self, **changes: Any) -> Self:
        """Return a validated copy with ``changes`` applied (nested sections merge key by key)."""
        data = self.model_dump()
        origins = Origins(fallback=None)
        merge_layer(data, changes, origins, lambda _path: ARGUMENT)
        return self._validate_from(data, origins)

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse assignment (configs are frozen) with a ConfigError that names the way out."""
        if name in type(self).model_fields:
            section = self._section_path
            dotted = f"{section}.{name}" if section else name
            how = f"{section}={{'{name}': ...}}" if section else f"{name}=..."
            fix = f"make a changed copy with config.replace({how})"
            raise ConfigError(
                f"config field '{dotted}' cannot be changed: configs are frozen. Fix: {fix}.",
                field=dotted,
                fix=fix,
            )
        super().__setattr__(name, value)

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Self:
        """Pydantic's ``model_validate``, raising ConfigError instead of ValidationError."""
        error: ConfigError | None = None
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            error = config_error(cls, exc, Origins(), cls._section_path)
        raise error

    @classmethod
    def model_validate_json(cls, json_data: Any, *args: Any, **kwargs: Any) -> Self:
        """Pydantic's ``model_validate_json``, raising ConfigError instead of ValidationError."""
        error: ConfigError | None = None
        try:
            return super().model_validate_json(json_data, *args, **kwargs)
        except ValidationError as exc:
            error = config_error(cls, exc, Origins(), cls._section_path)
        raise error

    @classmethod
    def _validate_from(cls, data: Mapping[str, Any], origins: Origins) -> Self:
        error: ConfigError | None = None
        try:
            return cast("Self", cls.__pydantic_validator__.validate_python(data))
        except ValidationError as exc:
            error = config_error(cls, exc, origins, cls._section_path)
        raise error

    @field_validator("*", mode="before")
    @classmethod
    def _clean_secret_input(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if not is_secret(cls.model_fields.get(name)) or not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        if value == MASK:
            raise ValueError(
                "holds the mask '**********', not a real secret (was it copied from to_dict()?)"
            )
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _register_secret_values(cls, value: Any) -> Any:
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
        return value


# --------------------------------------------------------------------------- sections
