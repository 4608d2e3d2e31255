"""The example backend tests (examples/backend-tests), run by pytest in a subprocess as an outside project.

They are copied out of the repository first, so neither omc-data's tests/ nor its pytest settings are
in reach: only the installed package and its pytest11 entry point. DATABASE_URL points at nothing, to
prove the plugin never uses it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from omc_data.testing.server import TestServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "backend-tests"


@pytest.mark.parametrize(("folder", "passed"), [("with_host_db", 4), ("without_host_db", 3)])
def test_examples_pass_as_an_outside_project(
    folder: str, passed: int, tmp_path: Path, omc_data_server: TestServer
) -> None:
    project = tmp_path / "backend"
    shutil.copytree(EXAMPLES, project)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMC_DATA_", "PYTEST_"))}
    env |= {
        "OMC_DATA_TEST_DSN": omc_data_server.admin_url,
        "DATABASE_URL": "postgresql://nobody@192.0.2.1/no",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", folder],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{passed} passed" in result.stdout
