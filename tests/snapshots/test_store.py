"""The store: tag grammar, immutability, atomic publishing, leftovers of dead builds, listing, rm, --store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import omc_data
from omc_data import catalog
from omc_data.errors import InvalidTagError, SnapshotExistsError, SnapshotNotFoundError
from omc_data.snapshots.manifest import MANIFEST_NAME
from omc_data.snapshots.store import TAG_PATTERN, Store, validate_tag
from omc_data.snapshots.writer import SnapshotWriter
from snaptools import (
    SMALL_CLI,
    arrow_table,
    assert_json_error,
    assert_one_line_error,
    build_small,
    run_cli,
    run_cli_many,
    spawn_cli,
    tree_state,
    user_row,
)

VALID_TAGS = ["v12", "a", "0", "ci-1", "v1.2.3", "A_b-C.9", "x" * 64, "release.2026-11-01"]
INVALID_TAGS = ["../x", "a/b", "", ".x", "x" * 65, "a b", "-x", "_x", "..", "v1\n", "a\\b", "ü", "v1/"]
USER = catalog.table("user")


def users(n: int = 3) -> pa.Table:
    return arrow_table("user", [user_row(i) for i in range(n)])


# --- tags ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", VALID_TAGS)
def test_valid_tags_are_accepted(tag: str, tmp_path: Path) -> None:
    assert validate_tag(tag) == tag
    assert Store(tmp_path).path(tag) == tmp_path / tag


@settings(max_examples=50, deadline=None)
@given(tag=st.from_regex(TAG_PATTERN, fullmatch=True))
def test_every_tag_of_the_grammar_is_accepted(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", INVALID_TAGS)
def test_invalid_tags_are_refused_and_nothing_is_written(tag: str, tmp_path: Path) -> None:
    root = tmp_path / "s"
    store = Store(root)
    with pytest.raises(InvalidTagError) as info:
        omc_data.build_snapshot(tag, store=root, users=1, coins=1, days=1, bcrypt_rounds=4)
    assert info.value.exit_code == 2
    assert info.value.tag == tag
    for action in (store.path, store.exists, store.open, store.remove):
        with pytest.raises(InvalidTagError):
            action(tag)
    with pytest.raises(InvalidTagError):
        SnapshotWriter(store, tag)
    with pytest.raises(InvalidTagError):
        omc_data.build_snapshot("ok", store=root, parent=tag)
    assert list(tmp_path.iterdir()) == []  # the store folder was not even created


def test_cli_refuses_an_invalid_tag_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    store = ["--store", str(cwd / "s")]
    build, show, rm = run_cli_many(
        [
            [*store, "build", "--tag", "../x", "--no-real-data"],
            [*store, "show", "../x", "--json"],
            [*store, "rm", "../x", "--yes", "--json"],
        ],
        cwd=cwd,
    )
    assert build.code == 2, build
    assert "'../x'" in assert_one_line_error(build)
    assert_json_error(show, kind="invalid_tag_error", code=2)
    assert_json_error(rm, kind="invalid_tag_error", code=2)
    assert list(tmp_path.rglob("*")) == [cwd]


# --- immutability ------------------------------------------------------------------------------------


def test_building_an_existing_tag_fails_and_leaves_the_old_snapshot_untouched(tmp_path: Path) -> None:
    root = tmp_path / "s"
    build_small(root, "v1")
    before = tree_state(root)
    with pytest.raises(SnapshotExistsError) as info:
        build_small(root, "v1", seed=8)
    assert info.value.exit_code == 1
    assert info.value.tag == "v1"
    run = run_cli("--store", str(root), "build", "--tag", "v1", *SMALL_CLI, "--seed", "8", "--json")
    assert_json_error(run, kind="snapshot_exists_error", code=1)
    assert tree_state(root) == before  # same files, same bytes, same mtimes, nothing added
    Store(root).open("v1").verify()


def test_two_writers_racing_for_one_tag_cannot_both_win(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    first, second = SnapshotWriter(store, "v1"), SnapshotWriter(store, "v1")
    with first, second:
        first.write_table(USER, users(2))
        second.write_table(USER, users(3))
        first.publish(inputs={}, libraries={}, omc_data_version="test")
        with pytest.raises(SnapshotExistsError):
            second.publish(inputs={}, libraries={}, omc_data_version="test")
    snapshot = store.open("v1")
    assert snapshot.manifest.tables["user"].rows == 2  # the winner's rows, intact
    snapshot.verify()
    assert sorted(p.name for p in store.root.iterdir()) == ["v1"]  # the loser left nothing


# --- a build that dies -------------------------------------------------------------------------------

# Starts a writer, writes one table, says where it works, then holds the build open until its stdin
# closes (a live build) or it is killed (a dead build).
WRITER = """
import sys
from pathlib import Path

import pyarrow.parquet as pq

from omc_data import catalog
from omc_data.snapshots.store import Store
from omc_data.snapshots.writer import SnapshotWriter

root, tag, source = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
writer = SnapshotWriter(Store(root), tag)
writer.write_table(catalog.table("user"), pq.read_table(source))
print(writer.dir, flush=True)
sys.stdin.read()
writer.abort()
"""


@pytest.fixture
def user_parquet(tmp_path: Path) -> Path:
    path = tmp_path / "users.parquet"
    pq.write_table(users(), path)
    return path


@pytest.fixture
def held_writer(tmp_path: Path, user_parquet: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A build in another process, half-way: one table written, the rest never comes."""
    root = tmp_path / "s"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), "half", str(user_parquet)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with proc:
        assert proc.stdout is not None
        work = Path(proc.stdout.readline().strip())  # blocks until the writer is ready
        assert work.parent == root and work.name.startswith(".tmp-half-")
        yield proc, work
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("next_step", ["build", "cleanup"])
def test_a_killed_build_publishes_nothing_and_its_leftovers_are_removed_later(
    held_writer: tuple[subprocess.Popen[str], Path], next_step: str, tmp_path: Path
) -> None:
    proc, work = held_writer
    root = work.parent
    proc.kill()
    assert proc.wait() < 0
    lock = work.with_name(work.name + ".lock")
    assert (work / "tables" / "user" / "part-00000.parquet").is_file()
    assert lock.is_file()
    assert Store(root).tags() == []
    assert omc_data.list_snapshots(root) == []
    listing = run_cli("--store", str(root), "list", "--json")
    assert listing.code == 0, listing
    assert listing.json()["snapshots"] == []

    if next_step == "build":
        build_small(root, "next")
        assert sorted(p.name for p in root.iterdir()) == ["next"]
    else:
        assert Store(root).cleanup() == [work]
        assert list(root.iterdir()) == []


def test_cleanup_leaves_a_live_build_in_another_process_alone(
    held_writer: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, work = held_writer
    root = work.parent
    lock = work.with_name(work.name + ".lock")
    assert Store(root).cleanup() == []
    build_small(root, "other")  # a build cleans up too
    assert work.is_dir() and lock.is_file()
    assert (work / "tables" / "user" / "part-00000.parquet").is_file()
    assert Store(root).tags() == ["other"]

    assert proc.stdin is not None
    proc.stdin.close()  # let the live build finish (it aborts)
    assert proc.wait() == 0
    assert sorted(p.name for p in root.iterdir()) == ["other"]


def test_cleanup_removes_interrupted_removals_and_stale_locks(tmp_path: Path) -> None:
    root = tmp_path / "s"
    build_small(root, "v1")
    trash = root / ".trash-v0-1234abcd"
    (trash / "tables").mkdir(parents=True)
    (trash / "tables" / "x.parquet").write_bytes(b"x")
    stale_lock = root / ".tmp-v2-0123456789ab.lock"
    stale_lock.write_bytes(b"")
    orphan = root / ".tmp-v3-0123456789ab"  # a dead build's folder whose lock is gone
    orphan.mkdir()
    assert sorted(Store(root).cleanup()) == sorted([trash, orphan])
    assert sorted(p.name for p in root.iterdir()) == ["v1"]
    Store(root).open("v1").verify()


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_exception_inside_the_writer_leaves_nothing_behind(error: BaseException, tmp_path: Path) -> None:
    root = tmp_path / "s"
    with pytest.raises(type(error)), SnapshotWriter(Store(root), "v1") as writer:
        writer.write_table(USER, users())
        writer.write_raw("coinspot/latest.json", b"{}")
        raise error
    assert list(root.iterdir()) == []


def test_a_generator_failing_mid_table_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from omc_data.snapshots import writer as writer_module

    monkeypatch.setattr(writer_module, "ROW_GROUP_ROWS", 2)  # so a part file is open when it fails

    def batches() -> Iterator[pa.RecordBatch]:
        yield from users(5).to_batches(max_chunksize=3)
        raise RuntimeError("generator broke")

    root = tmp_path / "s"
    with pytest.raises(RuntimeError, match="generator broke"), SnapshotWriter(Store(root), "v1") as writer:
        writer.write_table(USER, batches())
    assert list(root.iterdir()) == []


def test_a_publish_writes_the_manifest_and_leaves_no_work_files(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with SnapshotWriter(Store(root), "v1") as writer:
        writer.write_table(USER, users())
        writer.write_raw("coinspot/latest.json", b"{}")
        manifest = writer.publish(inputs={"seed": 1}, libraries={}, omc_data_version="test")
    assert sorted(p.name for p in root.iterdir()) == ["v1"]
    assert (root / "v1" / MANIFEST_NAME).is_file()
    assert Store(root).open("v1").manifest == manifest


@pytest.mark.parametrize("relpath", ["../escape.json", "/etc/escape.json", "a/../../escape.json"])
def test_raw_files_cannot_leave_the_snapshot(relpath: str, tmp_path: Path) -> None:
    with SnapshotWriter(Store(tmp_path / "s"), "v1") as writer, pytest.raises(ValueError, match="leaves"):
        writer.write_raw(relpath, b"{}")
    assert not (tmp_path / "escape.json").exists()


# --- listing --------------------------------------------------------------------------------------------


def test_a_missing_or_empty_store_lists_nothing(tmp_path: Path) -> None:
    missing, empty = tmp_path / "missing", tmp_path / "empty"
    empty.mkdir()
    assert omc_data.list_snapshots(missing) == []
    assert omc_data.list_snapshots(empty) == []
    assert Store(missing).cleanup() == []
    runs = run_cli_many([["--store", str(store), "list", "--json"] for store in (missing, empty)])
    for run, store in zip(runs, (missing, empty), strict=True):
        assert run.code == 0, run
        assert run.json() == {"store": str(store), "snapshots": []}
    assert not missing.exists()  # listing creates nothing


def test_list_shows_published_snapshots_oldest_first(tmp_path: Path) -> None:
    root = tmp_path / "s"
    for tag in ("b", "a", "c"):
        build_small(root, tag)
    (root / "not-a-snapshot.txt").write_text("ignored")
    (root / ".tmp-d-0123456789ab").mkdir()  # work in progress is never listed
    listing = omc_data.list_snapshots(root)
    assert [e.tag for e in listing] == ["b", "a", "c"]
    assert all(e.error is None and e.manifest is not None for e in listing)


# --- rm ----------------------------------------------------------------------------------------------


def test_rm_removes_a_snapshot_even_with_a_corrupted_manifest(tmp_path: Path) -> None:
    root = tmp_path / "s"
    build_small(root, "v1")
    build_small(root, "v2")
    build_small(root, "keep")
    (root / "v2" / MANIFEST_NAME).write_text("{ not json")
    rm1, rm2 = run_cli_many([["--store", str(root), "rm", tag, "--yes", "--json"] for tag in ("v1", "v2")])
    for run, tag in ((rm1, "v1"), (rm2, "v2")):
        assert run.code == 0, run
        assert run.json() == {"removed": tag, "path": str(root / tag)}
    assert sorted(p.name for p in root.iterdir()) == ["keep"]  # no trash left behind
    Store(root).open("keep").verify()


def test_rm_of_an_unknown_tag_fails_with_exit_1(tmp_path: Path) -> None:
    root = tmp_path / "s"
    build_small(root, "v1")
    before = tree_state(root)
    run = run_cli("--store", str(root), "rm", "nope", "--yes", "--json")
    error = assert_json_error(run, kind="snapshot_not_found_error", code=1)
    assert "'nope'" in error["message"]
    with pytest.raises(SnapshotNotFoundError):
        omc_data.remove_snapshot("nope", store=root)
    assert tree_state(root) == before


# --- where the store is --------------------------------------------------------------------------------


def test_store_option_and_environment_variable(tmp_path: Path) -> None:
    env_store, opt_store, cwd = tmp_path / "env", tmp_path / "opt", tmp_path / "cwd"
    build_small(env_store, "from-env")
    build_small(opt_store, "from-option")
    build_small(cwd / "snapshots", "from-default")
    env = {"OMC_DATA_STORE": str(env_store)}
    pending = [
        spawn_cli("list", "--json", env=env, cwd=cwd),
        spawn_cli("--store", str(opt_store), "list", "--json", cwd=cwd),
        spawn_cli("--store", str(opt_store), "list", "--json", env=env, cwd=cwd),
        spawn_cli("list", "--json", cwd=cwd),
    ]
    env_only, opt_only, both, neither = (p.result() for p in pending)
    expected = [
        (env_only, "from-env"),
        (opt_only, "from-option"),
        (both, "from-option"),
        (neither, "from-default"),
    ]
    for run, tag in expected:
        assert run.code == 0, run
        assert [s["tag"] for s in run.json()["snapshots"]] == [tag], run
