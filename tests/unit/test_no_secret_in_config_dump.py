"""A config's dump (``to_dict``, what the API's /api/config and reports start from) masks every
credential, webhook headers included."""

from __future__ import annotations

import json

from real_trade.config import RealTradeConfig
from real_trade.utils.logger import mask_secrets


def test_webhook_headers_are_masked_in_the_dump_and_the_logs() -> None:
    token = "Bearer hdrLEAK-" + "k3Y9" * 6
    config = RealTradeConfig(
        notifications={
            "webhook": {"url": "http://127.0.0.1:9/hook", "headers": {"Authorization": token}}
        }
    )
    dumped = json.dumps(config.to_dict())
    assert token not in dumped and "hdrLEAK" not in dumped
    assert config.notifications.webhook is not None
    assert config.notifications.webhook.headers["Authorization"] == token  # still usable
    assert "hdrLEAK" not in mask_secrets(f"posting with {token}")
