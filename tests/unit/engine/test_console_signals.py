"""A stop signal that lands while the run console prints a line: the note still prints.

Python runs a signal handler on the main thread between two bytecodes, so also inside
``RunConsole.write`` while it holds its lock (the runner prints bar lines on the main thread). The
handler of ``real-trade run`` prints "SIGTERM received" through the same console: with a plain
lock the process deadlocked, which made ``test_sigterm_stops_gracefully_with_exit_code_0`` hang
now and then (the test sends SIGTERM right after a bar line). The scenario runs in a subprocess,
so a deadlock fails this test instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent(
    """
    import io, signal
    from real_trade.engine.console import RunConsole
    from real_trade.utils.stop_signals import install_stop_signals

    class Out(io.StringIO):
        fired = False

        def write(self, text):
            written = super().write(text)
            if not Out.fired:  # the signal lands while the console holds its lock
                Out.fired = True
                signal.raise_signal(signal.SIGTERM)
            return written

    out = Out()
    console = RunConsole(out)
    stops = []
    install_stop_signals(lambda: stops.append(1), lambda: bool(stops), console.note)
    console.write("bar 1")
    print(out.getvalue(), end="")
    print("stops", len(stops))
    """
)


def test_a_sigterm_note_printed_while_a_line_is_written_does_not_deadlock() -> None:
    try:
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("the console deadlocked on the signal handler's note") from None
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].endswith("] bar 1")
    assert lines[1].endswith(
        "] SIGTERM received: stopping gracefully (SIGTERM again stops at once)"
    )
    assert lines[2] == "stops 1"
