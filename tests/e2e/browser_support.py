"""A real browser for the report tests: headless Debian chromium, and a PNG reader.

:func:`chromium` finds the browser (skips the test when it is missing, fails it when
``RT_REQUIRE_SERVICES=1``: CI installs it, see ``.ci/run``). :func:`screenshot` and
:func:`dump_dom` run it on a local file with networking off; :func:`read_png` decodes the
screenshot (8-bit RGB or RGBA, what chromium writes) into rows of pixels, standard library only.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest

from tests.support import services_required

__all__ = ["Image", "chromium", "dump_dom", "read_png", "screenshot"]

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
BROWSER_TIMEOUT_S = 90


def chromium() -> str:
    """The chromium executable; skip (or fail when services are required) without one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    reason = "chromium is not installed (apt-get install chromium)"
    if services_required():
        pytest.fail(f"{reason}; RT_REQUIRE_SERVICES=1 demands it")
    pytest.skip(reason)


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="rt-chromium-") as profile:
        return subprocess.run(
            [chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT_S,
            check=False,
        )


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1600) -> Path:
    """A PNG screenshot of the local ``page`` at ``width`` x ``height`` CSS pixels."""
    done = _run([f"--screenshot={out}", f"--window-size={width},{height}", page.as_uri()])
    assert out.exists(), f"chromium wrote no screenshot:\n{done.stderr[-2000:]}"
    return out


def dump_dom(page: Path, width: int = 1280, height: int = 1600) -> str:
    """The DOM of the local ``page`` after it loaded (scripts run), as HTML text."""
    done = _run(["--dump-dom", f"--window-size={width},{height}", page.as_uri()])
    assert done.stdout.strip(), f"chromium dumped no DOM:\n{done.stderr[-2000:]}"
    return done.stdout


class Image:
    """Decoded pixels: ``width``, ``height`` and ``pixel(x, y) -> (r, g, b)``."""

    def __init__(self, width: int, height: int, channels: int, data: bytes) -> None:
        self.width, self.height, self.channels, self.data = width, height, channels, data

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The (r, g, b) at column ``x``, row ``y``."""
        i = (y * self.width + x) * self.channels
        return self.data[i], self.data[i + 1], self.data[i + 2]

    def count(self, box: tuple[int, int, int, int], color: tuple[int, int, int], tol: int) -> int:
        """Pixels within ``tol`` of ``color`` (each channel) in ``box`` = (x, y, w, h)."""
        x0, y0, w, h = box
        found = 0
        for y in range(max(0, y0), min(self.height, y0 + h)):
            for x in range(max(0, x0), min(self.width, x0 + w)):
                r, g, b = self.pixel(x, y)
                if (
                    abs(r - color[0]) <= tol
                    and abs(g - color[1]) <= tol
                    and abs(b - color[2]) <= tol
                ):
                    found += 1
        return found


def read_png(path: Path) -> Image:
    """Decode an 8-bit, non-interlaced RGB or RGBA PNG."""
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, chunks, header = 8, [], b""
    while pos < len(blob):
        (size,) = struct.unpack(">I", blob[pos : pos + 4])
        kind = blob[pos + 4 : pos + 8]
        body = blob[pos + 8 : pos + 8 + size]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + size
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, "unexpected PNG layout"
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    out = bytearray(height * stride)
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        out[y * stride : (y + 1) * stride] = line
        previous = line
    return Image(width, height, bpp, bytes(out))
