"""The leak scanner of the "no secret leaves" tests finds a secret in every form it claims."""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
import urllib.parse
from contextlib import closing
from pathlib import Path

import pytest

from tests.secret_scan import SecretScanner

SECRET = "Sc4nMe/Secret+Value=01"


@pytest.mark.parametrize(
    "text",
    [
        f"log line secret={SECRET} end",
        f"LOG {SECRET.upper()} upper",
        f"GET /x?signature={urllib.parse.quote(SECRET, safe='')}",
        json.dumps({"nested": {"v": SECRET}}),
        "Authorization: Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode(),
        "blob " + base64.b64encode(f"ab{SECRET}".encode()).decode(),
        "hex " + SECRET.encode().hex(),
    ],
)
def test_each_form_is_found_and_the_finding_hides_the_value(text: str) -> None:
    scanner = SecretScanner({"secret": SECRET})
    leaks = scanner.scan_text(text, "sample")
    assert leaks, text
    with pytest.raises(AssertionError) as caught:
        scanner.assert_clean()
    assert SECRET not in str(caught.value) and "sample: secret" in str(caught.value)


def test_clean_text_passes() -> None:
    scanner = SecretScanner({"secret": SECRET})
    scanner.scan_text("nothing to see, Sc4nMe/Secre t", "sample")
    scanner.assert_clean()


def test_files_gzip_and_every_sqlite_row(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("clean\n")
    (tmp_path / "b.gz").write_bytes(gzip.compress(f"x {SECRET} y".encode()))
    with closing(sqlite3.connect(tmp_path / "j.db")) as db:
        db.execute("CREATE TABLE events (id INTEGER, payload TEXT)")
        db.execute("INSERT INTO events VALUES (1, ?)", (json.dumps({"k": SECRET}),))
        db.commit()
    scanner = SecretScanner({"secret": SECRET})
    found = scanner.scan_tree(tmp_path)
    where = {leak.where for leak in found}
    assert any("b.gz (gunzipped)" in w for w in where), where
    assert any("j.db:events[0]" in w for w in where), where
    assert not any(w.endswith("a.log") for w in where)


def test_short_values_are_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        SecretScanner({"pin": "1234"})
