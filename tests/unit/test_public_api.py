"""Every public package's ``__all__`` matches what it exports, and every name in it resolves."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import real_trade


def _all_modules() -> list[str]:
    names = ["real_trade"]
    for info in pkgutil.walk_packages(real_trade.__path__, prefix="real_trade."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        names.append(info.name)
    return sorted(names)


def _packages() -> list[str]:
    return [n for n in _all_modules() if hasattr(importlib.import_module(n), "__path__")]


@pytest.mark.parametrize("name", _all_modules())
def test_module_imports_and_all_names_resolve(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names things that do not exist: {missing}"


@pytest.mark.parametrize("name", _packages())
def test_package_all_matches_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__doc__, f"{name} needs a module docstring saying what lives there"
    exported = getattr(package, "__all__", None)
    assert exported is not None, f"{name} must define __all__"
    public = {
        attr
        for attr, value in vars(package).items()
        if not attr.startswith("_")
        and not isinstance(value, types.ModuleType)
        and attr != "annotations"
    }
    undeclared = sorted(public - set(exported))
    assert not undeclared, f"{name} exports names missing from __all__: {undeclared}"


def test_there_are_packages_to_check() -> None:
    assert "real_trade" in _packages()
