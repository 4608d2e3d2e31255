"""The CLI as a user meets it: help with examples, --version, -v/-q anywhere, --json, cheap start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from snaptools import SMALL_CLI, build_small, cli_env, run_cli, run_cli_many

COMMANDS = ["build", "load", "status", "diff", "list", "show", "verify", "validate", "rm", "db"]
COMMANDS += ["db up", "db down", "db status", "db reset"]


def test_every_command_has_help_with_an_example() -> None:
    runs = run_cli_many([[*c.split(), "--help"] for c in COMMANDS] + [["--help"]])
    for run in runs:
        assert run.code == 0, run
        assert "Example" in run.stdout, run
    top = runs[-1].stdout
    for command in COMMANDS:
        assert command.split()[0] in top


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    run = run_cli("--version")
    assert run.code == 0, run
    assert run.stdout.strip() == f"omc-data {version('omc-data')}"


def test_an_unknown_command_or_option_is_a_usage_error() -> None:
    bad_command, bad_option, bad_json = run_cli_many(
        [["frobnicate"], ["list", "--nope"], ["list", "--json", "--x"]]
    )
    assert bad_command.code == 2, bad_command
    assert bad_option.code == 2, bad_option
    assert "Traceback" not in bad_command.stderr + bad_option.stderr
    assert bad_json.code == 2, bad_json
    assert bad_json.json()["error"]["kind"] == "usage_error"


def test_quiet_and_verbose_work_before_or_after_the_command(tmp_path: Path) -> None:
    store = tmp_path / "store"
    quiet_after, quiet_before, verbose = run_cli_many(
        [
            ["--store", str(store), "build", "--tag", "q1", *SMALL_CLI, "-q"],
            ["--store", str(store), "-q", "build", "--tag", "q2", *SMALL_CLI],
            ["--store", str(store), "build", "--tag", "v1", *SMALL_CLI, "-v"],
        ]
    )
    for run in (quiet_after, quiet_before, verbose):
        assert run.code == 0, run
    assert quiet_after.stderr.strip() == "" and quiet_before.stderr.strip() == ""
    assert len(verbose.stderr) > 0  # progress and logs go to stderr
    assert "v1" in verbose.stdout  # the result goes to stdout


def test_list_and_show_json_describe_the_snapshot_and_its_accounts(tmp_path: Path) -> None:
    store = tmp_path / "store"
    build_small(store, "s1")
    listing, shown, human = run_cli_many(
        [
            ["--store", str(store), "list", "--json"],
            ["--store", str(store), "show", "s1", "--json"],
            ["--store", str(store), "show", "s1"],
        ]
    )
    assert listing.code == 0, listing
    (entry,) = listing.json()["snapshots"]
    assert entry["tag"] == "s1" and entry["tables"]["user"] == 4 and entry["error"] is None
    assert shown.code == 0, shown
    doc = shown.json()
    assert doc["manifest"]["tag"] == "s1"
    accounts = doc["accounts"]
    assert len(accounts) == 4 and sum(a["is_superuser"] for a in accounts) == 1
    assert all("omc-dev-password" in a["password"] for a in accounts)  # the documented default only
    assert "admin@example.com" in human.stdout


def test_show_never_prints_a_custom_password(tmp_path: Path) -> None:
    store = tmp_path / "store"
    build_small(store, "s1", password="hunter2-custom", superuser_password="s3cret-admin")
    run = run_cli("--store", str(store), "show", "s1", "--json")
    assert run.code == 0, run
    assert "hunter2" not in run.stdout and "s3cret" not in run.stdout
    assert {a["password"].split(" ")[0] for a in run.json()["accounts"]} == {"custom"}
    manifest_text = (store / "s1" / "manifest.json").read_text()
    assert "hunter2" not in manifest_text and "s3cret" not in manifest_text


@pytest.mark.parametrize("module", ["omc_data", "omc_data.cli.app"])
def test_importing_the_cli_pulls_in_no_heavy_library(module: str) -> None:
    """--help and list must start fast: DuckDB, polars, psycopg, faker and numpy load only when used."""
    code = (
        f"import sys, {module}\n"
        "heavy = {'duckdb', 'polars', 'psycopg', 'faker', 'numpy', 'sqlalchemy', 'httpx', 'bcrypt'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=cli_env(), check=True
    ).stdout
    assert out.strip() == "[]"
