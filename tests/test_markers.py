"""The ``postgres`` marker comes from the fixtures a test uses, never from the test's author.

tests/conftest.py marks every test whose fixture closure holds one of ``PG_FIXTURES``. Here the whole
suite is collected in a subprocess with ``-m "not postgres"``: what is deselected must be exactly the
tests that use a PostgreSQL fixture, each carrying the marker, and what remains must use none.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from pg import PG_FIXTURES

TESTS_DIR = Path(__file__).resolve().parent
PYTEST = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]

RECORDER = """
import json
import os

import pytest

_seen = {}


def _record(items, selected):
    for item in items:
        _seen[item.nodeid] = {
            "selected": selected,
            "marked": item.get_closest_marker("postgres") is not None,
            "fixtures": sorted(getattr(item, "fixturenames", ())),
        }


def pytest_deselected(items):
    _record(items, False)


def pytest_collection_finish(session):
    _record(session.items, True)
    with open(os.environ["MARKERS_OUT"], "w") as out:
        json.dump(_seen, out)
"""


def test_the_tests_using_postgresql_are_marked_and_deselected_by_not_postgres(tmp_path: Path) -> None:
    (tmp_path / "marker_recorder.py").write_text(RECORDER)
    out = tmp_path / "items.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    env["MARKERS_OUT"] = str(out)
    done = subprocess.run(
        [*PYTEST, "-p", "marker_recorder", "-m", "not postgres", str(TESTS_DIR)],
        cwd=TESTS_DIR.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    items: dict[str, dict[str, Any]] = json.loads(out.read_text())
    assert "tests/test_markers.py::test_no_test_marks_itself_postgres_by_hand" in items

    uses_pg = {node for node, item in items.items() if PG_FIXTURES.intersection(item["fixtures"])}
    deselected = {node for node, item in items.items() if not item["selected"]}
    unmarked = sorted(node for node in uses_pg if not items[node]["marked"])
    assert unmarked == []
    assert deselected == uses_pg
    # Both kinds are there in numbers: a hook that marked nothing or everything would fail above too.
    assert len(uses_pg) > 50 and len(items) - len(uses_pg) > 300
    for must in (  # one per way of reaching PostgreSQL: directly, through fixtures, the plugin's, binaries
        "tests/diff/test_diff_more.py::test_db_side_captures_read_only_and_diffs",
        "tests/localdb/test_localdb.py::test_a_cluster_starts_answers_and_stops",
        "tests/testing/test_plugin_outside.py::test_examples_pass_as_an_outside_project[with_host_db-4]",
        "tests/testing/test_factories.py::test_helpers_follow_the_trading_rules",
    ):
        assert must in deselected, must


def test_no_test_marks_itself_postgres_by_hand() -> None:
    by_hand = re.compile(r"pytest\.mark\.postgres\b|pytestmark\s*=.*\bpostgres\b")
    offenders = [
        str(path.relative_to(TESTS_DIR))
        for path in TESTS_DIR.rglob("*.py")
        if path.name not in ("conftest.py", "test_markers.py") and by_hand.search(path.read_text())
    ]
    assert offenders == []
