"""Build inputs as one value: ``build_snapshot(tag, inputs=BuildInputs(...))`` is the keyword form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import omc_data
from omc_data.builder.generators.spec import Spec
from omc_data.builder.inputs import SPEC_FIELDS, BuildInputs
from omc_data.errors import UsageError

SMALL: dict[str, Any] = {
    "seed": 7,
    "as_of": "2026-11-01T00:00:00Z",
    "users": 2,
    "coins": 1,
    "days": 1,
    "bcrypt_rounds": 4,
}


def test_the_value_and_the_keywords_build_the_same_bytes(tmp_path: Path) -> None:
    by_keywords = omc_data.build_snapshot("kw", store=tmp_path, **SMALL)
    by_value = omc_data.build_snapshot("value", store=tmp_path, inputs=BuildInputs(**SMALL))
    assert by_value.inputs == by_keywords.inputs
    assert {n: t.parts for n, t in by_value.tables.items()} == {
        n: t.parts for n, t in by_keywords.tables.items()
    }


def test_inputs_and_input_keywords_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not both"):
        omc_data.build_snapshot("v1", store=tmp_path, seed=8, inputs=BuildInputs(seed=7))
    assert not (tmp_path / "v1").exists()


def test_the_spec_fields_are_the_specs_own() -> None:
    assert set(SPEC_FIELDS) == set(Spec.__dataclass_fields__)
    assert BuildInputs(users=3).spec_fields()["users"] == 3
