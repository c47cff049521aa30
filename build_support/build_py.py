"""``build_py`` that also ships the startup hook ``real_trade_backtrader_hook.pth``.

A ``.pth`` file must sit directly in site-packages, outside any package, which setuptools has
no declarative setting for. This command copies it from the project root to the wheel's root:

- ``pip install .`` (a regular wheel): into ``build_lib``, which becomes the wheel's root;
- ``pip install -e .`` (PEP 660 editable wheel): setuptools keeps ``build_lib`` out of the
  editable wheel and writes files that cannot be edited in place (data, scripts) straight into
  the unpacked wheel, which is the ``install`` command's ``install_lib``; the ``.pth`` goes there,
  and so does a copy of the hook module ``_real_trade_backtrader_hook.py``: found through
  setuptools' editable finder it cost ~1.5 ms at every interpreter start, found in site-packages
  ~0.13 ms (``bench/bench_startup_hook.py``). Edits to that module need a reinstall.

Either way pip records the file and removes it on uninstall. Configured in ``pyproject.toml``
under ``[tool.setuptools.cmdclass]``.
"""

from __future__ import annotations

import os

from setuptools.command.build_py import build_py

PTH_NAME = "real_trade_backtrader_hook.pth"
HOOK_MODULE = "_real_trade_backtrader_hook.py"
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BuildPyWithStartupHook(build_py):
    """Run setuptools' ``build_py``, then put the startup ``.pth`` at the wheel's root."""

    def run(self) -> None:
        """Build the packages as usual and add the ``.pth``."""
        super().run()
        files = [PTH_NAME]
        if getattr(self, "editable_mode", False):
            target_dir = self.get_finalized_command("install").install_lib
            files.append(HOOK_MODULE)  # cheaper to find than through the editable finder
        else:
            target_dir = self.build_lib  # build_py already put the module there (py-modules)
        self.mkpath(target_dir)
        for name in files:
            source = os.path.join(_ROOT, name)
            self.copy_file(source, os.path.join(target_dir, name), preserve_mode=False)
