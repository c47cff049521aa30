"""A simulator serves a list of faces on one port, over one core, with shared admin."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import pytest
from aiohttp import web

from real_trade.sim.plumbing import FaceContext, RateLimiter, RateLimits, json_response
from real_trade.sim.plumbing import faces as faces_module
from real_trade.sim.server import SimExchange

pytestmark = pytest.mark.integration


class EchoFace:
    """A toy second venue: ``GET /echo/v1/last`` answers the core's last BTCUSDT price."""

    name = "echo"

    def __init__(self, **options: object) -> None:
        self.limiter: RateLimiter | None = RateLimiter(RateLimits())

    def register(self, app: web.Application, ctx: FaceContext) -> None:
        async def last(request: web.Request) -> web.StreamResponse:
            return json_response({"last": str(ctx.core.last_price("BTCUSDT"))})

        app.router.add_get("/echo/v1/last", last)


@pytest.fixture
def two_faces(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimExchange]:
    monkeypatch.setitem(faces_module.FACES, "echo", f"{__name__}:EchoFace")
    with SimExchange(stepped=True, seed=3, faces=["binance", "echo"]) as sim:
        yield sim


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_two_faces_share_one_core_and_one_admin(two_faces: SimExchange) -> None:
    sim = two_faces
    sim.advance(60)
    binance = _get(f"{sim.url}/api/v3/ticker/price?symbol=BTCUSDT")
    echo = _get(f"{sim.url}/echo/v1/last")
    assert isinstance(binance, dict) and isinstance(echo, dict)
    assert echo["last"] is not None and float(echo["last"]) == float(binance["price"])
    body = json.dumps({"weight_per_minute": 1234}).encode()
    req = urllib.request.Request(f"{sim.url}/admin/ratelimits", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert json.loads(resp.read())["weight_per_minute"] == 1234
    assert [f.limiter.limits.weight_per_minute for f in sim.faces if f.limiter] == [1234, 1234]
