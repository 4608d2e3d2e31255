"""Trust (issue 14): only regular files inside a snapshot are read, part footers agree with the manifest,
ordinary failures are one-line errors that change nothing, and impossible inputs are refused up front.

Every case runs the real CLI on real files and proves the store unchanged, byte for byte (links and
special files compared by what they are, never opened: a FIFO would block the comparison itself).
"""

from __future__ import annotations

import contextlib
import gzip
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import omc_data
from omc_data.builder.fetch.raw import RawResponse, inflate
from omc_data.errors import UsageError
from snaptools import (
    SMALL_CLI,
    build_small,
    fresh_copy,
    run_cli,
    run_cli_many,
)
from trusttools import (
    device_part,
    fifo_part,
    half_the_rows,
    linked_tables_folder,
    nested_manifest,
    numeric_to_integer,
    stat_of_wrong_type,
    store_state,
    symlink_outside,
)

TAG = "v1"
USER_PART = "tables/user/part-00000.parquet"
PRICE_PART = "tables/price_data_5min/part-00000.parquet"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trust") / "s"
    build_small(root, TAG)
    build_small(root, "v0", seed=8)  # other rows: diff reads the parts of v1 to compare them
    return root


@pytest.fixture
def store(base: Path, tmp_path: Path) -> Path:
    return fresh_copy(base, tmp_path)


DAMAGES: list[Callable[[Path, Path], str]] = [
    symlink_outside,
    fifo_part,
    device_part,
    linked_tables_folder,
    half_the_rows,
    numeric_to_integer,
    nested_manifest,
    stat_of_wrong_type,
]
FOOTER_DAMAGES = ("half_the_rows", "numeric_to_integer")  # verify/check/load read footers (PG tests)
READERS = [["verify", TAG], ["validate", TAG], ["diff", "v0", TAG], ["show", TAG], ["list"]]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__ for d in DAMAGES])
def test_every_reader_refuses_a_damaged_snapshot_by_name_and_changes_nothing(
    damage: Callable[[Path, Path], str], store: Path, tmp_path: Path
) -> None:
    named = damage(store / TAG, tmp_path)
    before = store_state(store)
    readers = READERS[:1] if damage.__name__ in FOOTER_DAMAGES else READERS
    if damage.__name__ not in ("nested_manifest", "stat_of_wrong_type"):
        readers = [r for r in readers if r[0] not in ("show", "list")]  # they read the manifest only
    runs = run_cli_many([["--store", str(store), *args] for args in readers])  # a FIFO must not hang
    for run in runs:
        out = run.stderr + run.stdout
        assert "internal error" not in out, run
        assert named in out, run
        if run.args[2] == "list":  # list shows a damaged snapshot with its error and goes on
            assert run.code == 0, run
        else:
            assert run.code == 1, run
    assert store_state(store) == before


def test_an_intact_part_passes_the_footer_checks(store: Path) -> None:
    assert omc_data.verify_snapshot(TAG, store=store) == []


# --- ordinary failures of the store ------------------------------------------------------------------


def test_a_store_path_that_is_a_file_is_an_error_for_every_command(tmp_path: Path) -> None:
    path = tmp_path / "not-a-dir"
    path.write_text("hello\n")
    before = store_state(path)
    for args in (["list"], ["show", TAG], ["verify", TAG], ["build", "--tag", TAG, *SMALL_CLI]):
        run = run_cli("--store", str(path), *args)
        assert run.code == 1, run
        assert f"store {path} is not a directory" in run.stderr, run
        assert "nothing was" in run.stderr and "internal error" not in run.stderr, run
        assert len(run.stderr.strip().splitlines()) == 1, run
    assert store_state(path) == before


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A small real filesystem (root only): a full disk or a read-only store, for real."""
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=False)
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def test_a_full_disk_during_a_build_publishes_nothing_and_says_so(tmp_path: Path, base: Path) -> None:
    with tmpfs(tmp_path / "full", "40k") as root:
        store = root / "store"
        store.mkdir()
        before = store_state(store)
        run = run_cli("--store", str(store), "build", "--tag", "v2", *SMALL_CLI)
        assert run.code == 1, run
        assert f"no space left in store {store} while building 'v2'" in run.stderr, run
        assert "nothing was published" in run.stderr and "internal error" not in run.stderr, run
        assert store_state(store) == before


def test_a_read_only_store_is_named_by_build_and_rm(tmp_path: Path, base: Path) -> None:
    root = tmp_path / "ro"
    with contextlib.ExitStack() as stack:
        root.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(root)], check=False).returncode != 0:
            pytest.skip("mounting a tmpfs needs root (CAP_SYS_ADMIN)")
        stack.callback(subprocess.run, ["umount", str(root)], check=True)
        shutil.copytree(base, root / "store")
        subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        store = root / "store"
        before = store_state(store)
        for args in (["build", "--tag", "v2", *SMALL_CLI], ["rm", TAG, "--yes"]):
            run = run_cli("--store", str(store), *args)
            assert run.code == 1, run
            assert f"store {store} is not writable" in run.stderr, run
            assert "internal error" not in run.stderr, run
            assert store_state(store) == before
        assert run_cli("--store", str(store), "verify", TAG).code == 0  # reading still works


# --- bounded inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--days", "100000"], "--days 100000 is over the limit of 3,660"),
        (["--users", "10000000"], "--users 10000000 is over the limit of 100,000"),
        (["--news", "99999999"], "--news 99999999 is over the limit of 1,000,000"),
        (["--coins", "50", "--days", "3000"], "--coins x --days"),
        (["--users", "100000", "--orders-per-user", "10000"], "--users x --orders-per-user"),
    ],
)
def test_impossible_counts_are_refused_up_front(args: list[str], named: str, tmp_path: Path) -> None:
    store = tmp_path / "s"
    run = run_cli("--store", str(store), "build", "--tag", "big", "--no-real-data", *args)
    assert run.code == 2, run
    assert named in run.stderr and "nothing was done" in run.stderr, run
    assert not store.exists() or store_state(store) == {}


def test_an_empty_table_list_is_a_usage_error_in_the_cli(store: Path) -> None:
    before = store_state(store)
    db = "postgresql://nobody@127.0.0.1:1/nowhere"  # never reached: the usage error comes first
    for args in (
        ["clear", "--yes", "--tables", "", "--db", db],
        ["load", TAG, "--tables", " , ", "--db", db],
        ["check", TAG, "--tables", "", "--db", db],
        ["capture", "--tag", "c", "--tables", "", "--db", db],
        ["diff", TAG, TAG, "--tables", ""],
    ):
        run = run_cli("--store", str(store), *args)
        assert run.code == 2, run
        assert "names no table" in run.stderr, run
    assert store_state(store) == before


def test_an_empty_table_list_is_a_usage_error_in_the_api(store: Path) -> None:
    db = "postgresql://nobody@127.0.0.1:1/nowhere"
    before = store_state(store)
    calls: list[Callable[[], object]] = [
        lambda: omc_data.load_snapshot(TAG, db=db, store=store, tables=[]),
        lambda: omc_data.check_snapshot(TAG, db=db, store=store, tables=[]),
        lambda: omc_data.capture_snapshot("c", db=db, store=store, tables=[]),
        lambda: omc_data.diff_snapshots(TAG, TAG, store=store, tables=[]),
        lambda: omc_data.build_snapshot("b", store=store, tables=[], seed=1),
    ]
    for call in calls:
        with pytest.raises(UsageError, match="empty table list"):
            call()
    assert store_state(store) == before


def test_inflating_is_bounded_while_streaming() -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 64 * 1024
    with pytest.raises(ValueError, match="inflates beyond the 1 MB bound"):
        inflate(bomb, limit=1024 * 1024)
    assert inflate(bomb, limit=8 * 1024 * 1024) == b"\0" * (8 * 1024 * 1024)
    two = gzip.compress(b"a") + gzip.compress(b"b")  # members concatenated, as gzip allows
    assert inflate(two) == b"ab"
    with pytest.raises(ValueError, match="not a gzip-compressed omc-data response"):
        RawResponse.from_file(b'{"not": "gzip"}')
    with pytest.raises(ValueError, match="not a gzip-compressed omc-data response"):
        RawResponse.from_file(gzip.compress(b"x" * 1000)[:-20])  # cut short
