"""Build-time helpers for setuptools (not installed; see ``pyproject.toml``)."""
