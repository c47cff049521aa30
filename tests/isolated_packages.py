"""Packages that cannot share the test venv, installed once into a cache folder of their own.

``binance-futures-connector`` and ``binance-connector`` both install the top-level package
``binance``: in one venv the second overwrites the first's files and breaks the spot SDK's
tests. :func:`isolated_package` installs such a requirement with ``pip install --target`` into
``$RT_ISOLATED_PACKAGES`` (default ``~/.cache/real_trade/isolated``), one folder per pinned
requirement, and returns the folder for a subprocess's ``PYTHONPATH``. Its dependencies are
the venv's (``--no-deps``). Offline with nothing cached, the test is skipped with the reason
(CI stays offline-safe); once cached, no network is needed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

__all__ = ["isolated_package"]


def _root() -> Path:
    configured = os.environ.get("RT_ISOLATED_PACKAGES")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "real_trade" / "isolated"


def isolated_package(requirement: str, marker: str) -> Path:
    """The folder holding ``requirement`` (pinned, e.g. ``pkg==1.2.3``), installed if needed;
    ``marker`` is a path inside it that shows the install is complete (e.g. ``binance/um_futures``).
    """
    target = _root() / re.sub(r"[^A-Za-z0-9.]+", "-", requirement)
    if (target / marker).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
    command += ["--disable-pip-version-check", "--target", str(staging), requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not (staging / marker).exists():
            pytest.skip(f"cannot install {requirement} (offline?): {done.stderr.strip()[-300:]}")
        try:
            staging.rename(target)  # atomic: a parallel worker may have won the race
        except OSError:
            if not (target / marker).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
