"""`omc-data build` at the command line: count flags and their defaults, and the ranked coin list's limit."""

from __future__ import annotations

import re
from pathlib import Path

from omc_data import defaults
from snaptools import AS_OF, assert_one_line_error, run_cli_many

# every count flag and its documented default
COUNT_FLAGS = {
    "--users": defaults.USERS,
    "--algorithms": defaults.ALGORITHMS,
    "--agent-sessions": defaults.AGENT_SESSIONS,
    "--days": defaults.DAYS,
    "--coins": defaults.COINS,
    "--news": defaults.NEWS,
    "--protocols": defaults.PROTOCOLS,
    "--orders-per-user": defaults.ORDERS_PER_USER,
    "--deployments": defaults.DEPLOYMENTS,
}
DOCUMENTED = {  # the defaults DESIGN.md and the issue name, independently of defaults.py
    "--users": 10,
    "--algorithms": 15,
    "--agent-sessions": 20,
    "--days": 7,
    "--coins": 10,
    "--news": 100,
    "--protocols": 20,
}
RANKED_COINS = 105


def build_args(store: Path, tag: str, *extra: str) -> list[str]:
    return [
        "--store",
        str(store),
        "build",
        "--tag",
        tag,
        "--no-real-data",
        "--seed",
        "7",
        "--as-of",
        AS_OF,
        "--users",
        "1",
        "--days",
        "1",
        "--bcrypt-rounds",
        "4",
        "--algorithms",
        "2",
        "--agent-sessions",
        "2",
        "--news",
        "2",
        "--protocols",
        "2",
        *extra,
    ]


def help_blocks(text: str) -> dict[str, str]:
    """Each option of a --help text with its (possibly wrapped) description joined on one line."""
    blocks: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = re.match(r"^\s{2}(?:-\w, )?(--[\w-]+)", line)
        if match:
            current = match.group(1)
            blocks[current] = line
        elif current and line.startswith(" " * 10) and line.strip():
            blocks[current] += " " + line.strip()
        else:
            current = None
    return blocks


def test_build_cli(tmp_path: Path) -> None:
    """One batch of concurrent CLI runs (each pays ~1-2 s of imports): help, too many coins, the limit."""
    too_many, at_limit, help_run, short_help = run_cli_many(
        [
            build_args(tmp_path / "bad", "v1", "--coins", str(RANKED_COINS + 1)),
            build_args(tmp_path / "ok", "v1", "--coins", str(RANKED_COINS)),
            ["build", "--help"],
            ["build", "-h"],
        ],
    )

    # --coins beyond the ranked list: a usage error, one line on stderr, nothing written
    assert too_many.code == 2, too_many
    line = assert_one_line_error(too_many)
    assert "--coins" in line and str(RANKED_COINS) in line, too_many
    assert too_many.stdout == "", too_many
    bad_store = tmp_path / "bad"
    assert not bad_store.exists() or list(bad_store.iterdir()) == [], list(bad_store.rglob("*"))

    # the whole ranked list is fine
    assert at_limit.code == 0, at_limit
    assert (tmp_path / "ok" / "v1" / "manifest.json").is_file()

    # --help names every count flag with its default
    assert help_run.code == 0, help_run
    assert short_help.code == 0 and short_help.stdout == help_run.stdout
    blocks = help_blocks(help_run.stdout)
    for flag, default in COUNT_FLAGS.items():
        assert flag in blocks, (flag, help_run.stdout)
        found = re.search(r"\[default: (\d+)", blocks[flag])
        assert found, (flag, blocks[flag])
        assert int(found.group(1)) == default, (flag, blocks[flag])
    for flag, default in DOCUMENTED.items():
        assert COUNT_FLAGS[flag] == default, flag


def test_help_blocks_parser() -> None:  # the parser the help test relies on
    text = (
        "Options:\n"
        "  -t, --tag <str>      Tag.\n"
        "                       [required]\n"
        "  --users <int range>  Users.  [default:\n"
        "                       10; x>=0]\n"
        "  --json               JSON.\n"
    )
    blocks = help_blocks(text)
    assert set(blocks) == {"--tag", "--users", "--json"}
    assert re.search(r"\[default: (\d+)", blocks["--users"]).group(1) == "10"  # type: ignore[union-attr]
