"""What the seed-004 startup hook (``real_trade_backtrader_hook.pth``) adds to interpreter start.

Runs ``python -X importtime -c pass`` N times with the given interpreter (one whose environment
has real_trade installed, so site-packages holds the ``.pth``) and reports the median and p90 of
the hook's cumulative import time, plus the modules it loaded (``os``/``sys`` are already loaded
before ``site`` runs, so it should be the hook module alone).

    .venv/bin/python bench/bench_startup_hook.py            # this interpreter, 200 runs
    python bench/bench_startup_hook.py /path/to/venv/bin/python --runs 500
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

HOOK = "_real_trade_backtrader_hook"


def _hook_lines(python: str) -> list[tuple[int, int, str]]:
    out = subprocess.run(
        [python, "-X", "importtime", "-c", "pass"], capture_output=True, text=True, check=True
    )
    rows = []
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[12:].split("|"))
        if self_us.isdigit():
            rows.append((int(self_us), int(cumulative_us), name))
    return rows


def main() -> int:
    """Measure and print the hook's share of interpreter start."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("python", nargs="?", default=sys.executable)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    cumulative: list[int] = []
    nested: set[str] = set()
    for _ in range(args.runs):
        rows = _hook_lines(args.python)
        for index, (_self, cum, name) in enumerate(rows):
            if name.strip() == HOOK:
                cumulative.append(cum)
                # importtime prints a module's imports just before it, indented deeper
                depth = len(name) - len(name.lstrip())
                for _s, _c, earlier in reversed(rows[:index]):
                    if len(earlier) - len(earlier.lstrip()) <= depth:
                        break
                    nested.add(earlier.strip())
    if not cumulative:
        print(f"{HOOK} was not imported at start: is real_trade installed for {args.python}?")
        return 1
    cumulative.sort()
    p90 = cumulative[int(0.9 * (len(cumulative) - 1))]
    print(
        f"{HOOK}: median {statistics.median(cumulative) / 1000:.3f} ms, p90 {p90 / 1000:.3f} ms "
        f"cumulative import time over {len(cumulative)} starts; modules it imported: "
        f"{sorted(nested) or 'none'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
