"""``build_py`` that also ships the startup hook ``real_trade_backtrader_hook.pth``.

A ``.pth`` file must sit directly in site-packages, outside any package, which setuptools has
no declarative setting for. This command copies it from the project root to the wheel's root:

- ``pip install .`` (a regular wheel): into ``build_lib``, which becomes the wheel's root;
- ``pip install -e .`` (PEP 660 editable wheel): setuptools keeps ``build_lib`` out of the
  editable wheel and writes files that cannot be edited in place (data, scripts) straight into
  the unpacked wheel, which is the ``install`` command's ``install_lib``; the ``.pth`` goes there.

Either way pip records the file and removes it on uninstall. Configured in ``pyproject.toml``
under ``[tool.setuptools.cmdclass]``.
"""

from __future__ import annotations

import os

from setuptools.command.build_py import build_py

PTH_NAME = "real_trade_backtrader_hook.pth"
_SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), PTH_NAME)


class BuildPyWithStartupHook(build_py):
    """Run setuptools' ``build_py``, then put the startup ``.pth`` at the wheel's root."""

    def run(self) -> None:
        """Build the packages as usual and add the ``.pth``."""
        super().run()
        if getattr(self, "editable_mode", False):
            target_dir = self.get_finalized_command("install").install_lib
        else:
            target_dir = self.build_lib
        self.mkpath(target_dir)
        self.copy_file(_SOURCE, os.path.join(target_dir, PTH_NAME), preserve_mode=False)
