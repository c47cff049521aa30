"""Writing a sweep's best parameters back as a config: ``CONFIG.best.toml`` next to the input.

The new file is the input file's own content (not the environment's, so no ``RT_...`` value
or key from the environment lands in it) with ``[run.params]`` updated, in the input's format
(TOML or JSON). Comments of a TOML input are not kept; a header says where the file came from.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from real_trade.config.sources import read_file
from real_trade.errors import ConfigError

__all__ = ["best_config_path", "to_toml", "write_best_config"]


def best_config_path(source: str | Path) -> Path:
    """``run.toml`` -> ``run.best.toml`` in the same folder (``.json`` likewise)."""
    path = Path(source)
    return path.with_name(f"{path.stem}.best{path.suffix or '.toml'}")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise ConfigError(
        f"cannot write {value!r} ({type(value).__name__}) to TOML",
        field="run.params",
        fix="use numbers, booleans, strings or lists as parameter values",
    )


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def to_toml(data: Mapping[str, Any], header: str = "") -> str:
    """A TOML text of nested ``data`` (tables for nested mappings, scalars first)."""
    lines = [f"# {line}" for line in header.splitlines()] if header else []

    def emit(table: Mapping[str, Any], path: list[str]) -> None:
        scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            lines.extend(["", "[" + ".".join(_key(p) for p in path) + "]"])
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars)
        for key, sub in tables:
            emit(sub, [*path, key])

    emit(data, [])
    return "\n".join(lines).lstrip("\n") + "\n"


def write_best_config(
    source: str | Path,
    params: Mapping[str, Any],
    *,
    header: str = "",
    target: str | Path | None = None,
) -> Path:
    """Write the input config with ``run.params`` updated by ``params`` to ``target`` (default
    :func:`best_config_path`); return the path written."""
    path = Path(source)
    suffix = path.suffix.lower()
    kind: Literal["json", "toml"] = "json" if suffix == ".json" else "toml"
    data = dict(read_file(path, kind))
    run = dict(data.get("run") or {})
    run["params"] = {**dict(run.get("params") or {}), **dict(params)}
    data["run"] = run
    target = Path(target) if target is not None else best_config_path(path)
    text = json.dumps(data, indent=2) + "\n" if kind == "json" else to_toml(data, header)
    target.write_text(text, encoding="utf-8")
    return target
