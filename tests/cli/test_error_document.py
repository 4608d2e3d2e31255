"""The ``--json`` error document: fixed keys, the error's fields, and the CLI's flags in its words."""

from __future__ import annotations

from pathlib import Path

from omc_data.cli.output import PARAMETER_FLAGS, as_flags, error_document
from omc_data.errors import LockHeldError, SnapshotNotFoundError, UsageError


def test_parameters_become_flags_only_as_whole_names() -> None:
    assert as_flags("pass cascade=True, or raise lock_timeout") == "pass --cascade, or raise --lock-timeout"
    assert (
        as_flags("not_after_as_of.created_at and spec.as_of_tick")
        == "not_after_as_of.created_at and spec.as_of_tick"
    )
    assert as_flags("as_of must carry a time zone") == "--as-of must carry a time zone"
    assert all(flag.startswith("--") for flag in PARAMETER_FLAGS.values())


def test_the_document_carries_the_fields_without_hiding_the_fixed_keys(tmp_path: Path) -> None:
    doc = error_document(SnapshotNotFoundError("v1", tmp_path))["error"]
    assert doc == {
        "kind": "snapshot_not_found_error",
        "message": f"no snapshot 'v1' in store {tmp_path}",
        "hint": "run 'omc-data list' to see the tags, or pass --store",
        "details": [],
        "exit_code": 1,
        "tag": "v1",
        "store": str(tmp_path),
    }
    held = LockHeldError("busy", hint="pass wait=True", holders=[{"pid": 7}])
    doc = error_document(held)["error"]
    assert doc["kind"] == "lock_held" and doc["hint"] == "pass --wait" and doc["holders"] == [{"pid": 7}]
    assert doc["table"] is None and set(doc) == {
        "kind",
        "message",
        "hint",
        "details",
        "exit_code",
        "table",
        "holders",
    }
    usage = UsageError("bad")
    usage.exit_code = 3
    assert error_document(usage)["error"]["exit_code"] == 3
