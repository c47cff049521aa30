"""``SecretScanner``: look for known secret values everywhere a run leaves traces.

The "no secret leaves" tests give it the canary values (API key, secret, passphrases) and feed
it text, bytes, files, whole directory trees, SQLite databases (every row of every table) and
JSON-able objects (an HTTP response, a webhook body, a page). It looks for each value as is and
in the encodings a leak usually takes: URL-encoded, JSON-escaped, base64 and hex, any case. A
finding names where, which secret and in which form, and shows the neighbourhood with the value
masked, so a failing test never prints the secret it caught.
"""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
import urllib.parse
from collections.abc import Iterable, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Leak", "SecretScanner"]

_MASK = "<SECRET>"


@dataclass(frozen=True)
class Leak:
    """One finding: ``where`` (a file, a table row, a label), the secret's ``label``, the
    ``form`` it was found in, and ``context`` with the value masked."""

    where: str
    label: str
    form: str
    context: str

    def __str__(self) -> str:
        """One line for an assertion message."""
        return f"{self.where}: {self.label} ({self.form}) in ...{self.context}..."


def _forms(value: str) -> dict[str, bytes]:
    """Encodings of ``value`` worth looking for (lower-cased where case does not matter)."""
    raw = value.encode("utf-8")
    forms = {
        "plain": raw.lower(),
        "url-encoded": urllib.parse.quote(value, safe="").encode().lower(),
        "url-encoded+": urllib.parse.quote_plus(value).encode().lower(),
        "json-escaped": json.dumps(value)[1:-1].encode().lower(),
        "hex": raw.hex().encode(),
    }
    for shift in range(3):  # base64 of the value inside a longer string: three alignments
        encoded = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0 :]
        forms[f"base64/{shift}"] = encoded[: max(8, len(encoded) - 4)]
    return {name: form for name, form in forms.items() if len(form) >= 6}


@dataclass
class SecretScanner:
    """Scans for ``secrets`` (label -> value); findings gather in :attr:`leaks`."""

    secrets: Mapping[str, str]
    leaks: list[Leak] = field(default_factory=list)
    scanned: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Prepare every form of every secret (values shorter than 6 characters are refused)."""
        for label, value in self.secrets.items():
            if len(value) < 6:
                raise ValueError(f"secret {label!r} is too short to scan for reliably")
        self._forms = {label: _forms(value) for label, value in self.secrets.items()}

    # -- sources ---------------------------------------------------------------------------
    def scan_bytes(self, data: bytes, where: str) -> list[Leak]:
        """Look in ``data`` (case-insensitively for the text forms)."""
        self.scanned.append(where)
        haystack = data.lower()
        found: list[Leak] = []
        for label, forms in self._forms.items():
            for form_name, form in forms.items():
                cased = form_name.startswith("base64")  # base64 is case-sensitive
                at = data.find(form) if cased else haystack.find(form)
                if at >= 0:
                    found.append(Leak(where, label, form_name, _context(data, at, len(form))))
                    break
        self.leaks.extend(found)
        return found

    def scan_text(self, text: str, where: str) -> list[Leak]:
        """Look in ``text`` (a log, a command's output, a page)."""
        return self.scan_bytes(text.encode("utf-8", "surrogateescape"), where)

    def scan_object(self, obj: Any, where: str) -> list[Leak]:
        """Look in a JSON-able object (an HTTP body, a webhook post), via its JSON text."""
        return self.scan_text(json.dumps(obj, default=str, ensure_ascii=False), where)

    def scan_file(self, path: Path) -> list[Leak]:
        """Look in one file; a gzip file is also looked at decompressed, a SQLite database
        row by row (:meth:`scan_sqlite`) as well as byte by byte."""
        data = path.read_bytes()
        found = self.scan_bytes(data, str(path))
        if data[:2] == b"\x1f\x8b":
            found += self.scan_bytes(gzip.decompress(data), f"{path} (gunzipped)")
        if data[:16] == b"SQLite format 3\x00":
            found += self.scan_sqlite(path)
        return found

    def scan_tree(self, root: Path, *, skip: Iterable[Path] = ()) -> list[Leak]:
        """Look in every file under ``root`` (except ``skip``); returns what was found."""
        skipped = {p.resolve() for p in skip}
        found: list[Leak] = []
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.resolve() not in skipped:
                found += self.scan_file(path)
        return found

    def scan_sqlite(self, path: Path) -> list[Leak]:
        """Look in every row of every table of the SQLite database ``path`` (read-only)."""
        found: list[Leak] = []
        uri = f"file:{path}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for number, row in enumerate(db.execute(f'SELECT * FROM "{table}"')):
                    for cell in row:
                        data = cell if isinstance(cell, bytes) else str(cell).encode()
                        found += self.scan_bytes(data, f"{path}:{table}[{number}]")
        return found

    # -- verdict ---------------------------------------------------------------------------
    def assert_clean(self) -> None:
        """AssertionError listing every leak (values masked) when anything was found."""
        if self.leaks:
            lines = "\n".join(f"  {leak}" for leak in self.leaks[:50])
            raise AssertionError(f"{len(self.leaks)} secret leak(s):\n{lines}")


def _context(data: bytes, at: int, length: int) -> str:
    before = data[max(0, at - 40) : at].decode("utf-8", "replace")
    after = data[at + length : at + length + 40].decode("utf-8", "replace")
    return f"{before}{_MASK}{after}".replace("\n", "\\n")
