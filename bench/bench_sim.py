"""Run every simulator benchmark in one go: REST orders/s and websocket market messages/s.

Each benchmark starts its own simulator on loopback and prints its table, with a baseline
measured in the same run (REST: the ping round-trip rate; websockets: a bare aiohttp broadcast
server) so the figures read as ratios on whatever machine runs them. Run::

    .venv/bin/python bench/bench_sim.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run the REST and the websocket benchmark one after the other; non-zero if one fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measure")
    args = parser.parse_args()
    status = 0
    for script in ("bench_sim_rest.py", "bench_sim_ws.py"):
        cmd = [sys.executable, str(HERE / script), "--seconds", str(args.seconds)]
        print(f"$ {' '.join(cmd[1:])}", flush=True)
        status |= subprocess.run(cmd, check=False).returncode
        print(flush=True)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
