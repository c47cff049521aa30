"""``python -m real_trade.cli``: the ``real-trade`` command."""

from __future__ import annotations

import sys

from real_trade.cli.main import main

sys.exit(main())
