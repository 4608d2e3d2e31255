"""The package is typed (PEP 561): ``py.typed`` sits in it, and the wheel takes the whole package folder."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_package_is_marked_typed() -> None:
    marker = importlib.resources.files("omc_data") / "py.typed"
    assert marker.is_file()
    assert (REPO_ROOT / "src" / "omc_data" / "py.typed").is_file()


def test_the_wheel_ships_the_package_folder_with_its_data_files() -> None:
    # hatchling's `packages` copies every file under the folder (py.typed included), unlike `include`
    # patterns of *.py; checked with `uv build --wheel` when this was written.
    text = (REPO_ROOT / "pyproject.toml").read_text()
    section = text.split("[tool.hatch.build.targets.wheel]", 1)[1].split("\n[", 1)[0]
    assert 'packages = ["src/omc_data"]' in section
    assert "exclude" not in section and "only-include" not in section
