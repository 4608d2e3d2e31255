"""omc_data.config: env files, which database the settings name, where the store is; no password shown."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from omc_data import config
from omc_data.config import DbChoice, database_choice, mask_password, read_env_file, store_path
from omc_data.errors import UsageError

# -- env files --------------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_env_file_with_quotes_comments_export_and_blank_lines(tmp_path: Path) -> None:
    env_file = write(
        tmp_path / ".env",
        "# the backend's settings\n"
        "\n"
        "   \n"
        "POSTGRES_SERVER=db\n"
        "export POSTGRES_USER=app\n"
        "  POSTGRES_PORT = 5433  \n"
        'POSTGRES_PASSWORD="p#ss word"\n'
        "POSTGRES_DB='omc' # the app's database\n"
        'FIRST_SUPERUSER="admin@example.com"   # quoted, then a comment\n'
        "DOMAIN=localhost # unquoted: the comment goes\n"
        "HASHED=a#b\n"
        "EMPTY=\n"
        "QUOTED_EMPTY=''\n"
        "not a setting\n"
        "# POSTGRES_DB=commented-out\n"
        "TWICE=first\n"
        "TWICE=second\n",
    )
    assert read_env_file(env_file) == {
        "POSTGRES_SERVER": "db",
        "POSTGRES_USER": "app",
        "POSTGRES_PORT": "5433",
        "POSTGRES_PASSWORD": "p#ss word",
        "POSTGRES_DB": "omc",
        "FIRST_SUPERUSER": "admin@example.com",
        "DOMAIN": "localhost",
        "HASHED": "a#b",  # a '#' without a space before it is part of the value
        "EMPTY": "",
        "QUOTED_EMPTY": "",
        "TWICE": "second",
    }


def test_mismatched_quotes_are_kept_as_written(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", 'A="open\nB=\'mixed"\nC="closed"tail\n')
    assert read_env_file(env_file) == {"A": '"open', "B": "'mixed\"", "C": '"closed"tail'}


def test_windows_line_endings_and_a_byte_order_mark(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"\xef\xbb\xbfPOSTGRES_SERVER=db\r\nPOSTGRES_DB=omc\r\n")
    assert read_env_file(env_file) == {"POSTGRES_SERVER": "db", "POSTGRES_DB": "omc"}


def test_an_env_file_that_is_not_utf8_is_a_usage_error_without_its_bytes(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"POSTGRES_SERVER=db\nPOSTGRES_PASSWORD=s\xe9cret-\xff\xfe\n")
    with pytest.raises(UsageError) as info:
        read_env_file(env_file)
    error = info.value
    assert str(error).startswith(f"env file {env_file} is not UTF-8 text (line 2)")
    assert "UTF-8" in (error.hint or "")
    assert error.__cause__ is None and error.__suppress_context__  # no decoder message in a traceback
    shown = "".join(traceback.format_exception(error))
    assert "cret" not in shown and "xe9" not in shown and "\\xff" not in shown


def test_a_missing_env_file_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    with pytest.raises(UsageError, match=r"cannot read env file .*nope\.env: No such file or directory"):
        read_env_file(missing)
    with pytest.raises(UsageError, match="cannot read env file"):
        read_env_file(tmp_path)  # a folder
    with pytest.raises(UsageError, match="cannot read env file"):
        database_choice(None, missing, {})


# -- which database -----------------------------------------------------------------------------------

PG_ENV = {"POSTGRES_SERVER": "envhost", "POSTGRES_USER": "envuser", "POSTGRES_PASSWORD": "env-pw"}


def test_db_option_wins_over_everything(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "DATABASE_URL=postgresql://file/x\nPOSTGRES_SERVER=filehost\n")
    env = {"DATABASE_URL": "postgresql://env/x", **PG_ENV}
    assert database_choice("postgresql://cli/x", env_file, env) == DbChoice("--db", url="postgresql://cli/x")


def test_database_url_wins_over_postgres_settings() -> None:
    choice = database_choice(None, None, {"DATABASE_URL": "postgresql://env/x", **PG_ENV})
    assert choice == DbChoice("DATABASE_URL", url="postgresql://env/x")


def test_an_empty_database_url_counts_as_unset() -> None:
    choice = database_choice(None, None, {"DATABASE_URL": "", **PG_ENV})
    assert choice == DbChoice("POSTGRES_*", settings=PG_ENV)


def test_postgres_settings_take_only_the_known_non_empty_ones() -> None:
    env = {**PG_ENV, "POSTGRES_PORT": "", "POSTGRES_DB": "omc", "POSTGRES_OTHER": "x", "PGHOST": "y"}
    choice = database_choice(None, None, env)
    assert choice == DbChoice("POSTGRES_*", settings={**PG_ENV, "POSTGRES_DB": "omc"})


def test_postgres_settings_need_a_server() -> None:
    assert database_choice(None, None, {"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "p"}) is None
    assert database_choice(None, None, {}) is None


def test_the_env_file_wins_over_the_environment_key_by_key(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "POSTGRES_SERVER=filehost\nPOSTGRES_DB=filedb\n")
    choice = database_choice(None, env_file, PG_ENV)
    assert choice == DbChoice(
        f"POSTGRES_* in {env_file}",
        settings={
            "POSTGRES_SERVER": "filehost",
            "POSTGRES_USER": "envuser",
            "POSTGRES_PASSWORD": "env-pw",
            "POSTGRES_DB": "filedb",
        },
    )


def test_a_database_url_in_the_env_file_says_so_and_one_in_the_environment_does_not(tmp_path: Path) -> None:
    in_file = write(tmp_path / "a.env", "DATABASE_URL=postgresql://file/x\n")
    assert database_choice(None, in_file, PG_ENV) == DbChoice(
        f"DATABASE_URL in {in_file}", url="postgresql://file/x"
    )
    without = write(tmp_path / "b.env", "POSTGRES_SERVER=filehost\n")
    # DATABASE_URL from the environment still beats POSTGRES_* from the file
    assert database_choice(None, without, {"DATABASE_URL": "postgresql://env/x"}) == DbChoice(
        "DATABASE_URL", url="postgresql://env/x"
    )


# -- passwords never shown ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:S3CRET@db:5432/omc", "postgresql://app:***@db:5432/omc"),
        ("postgresql+psycopg://app:p@ss:w@db/omc", "postgresql+psycopg://app:***@db/omc"),
        (
            "postgresql://app@db/omc?password=S3CRET&sslmode=require",
            "postgresql://app@db/omc?password=***&sslmode=require",
        ),
        ("host=db user=app password=S3CRET dbname=omc", "host=db user=app password=*** dbname=omc"),
        ("host=db password = 'S3 CRET\\'x' dbname=omc", "host=db password = *** dbname=omc"),
        ("postgresql://app@db/omc", "postgresql://app@db/omc"),
        ("postgresql:///omc?host=/run/pg", "postgresql:///omc?host=/run/pg"),
    ],
)
def test_mask_password(url: str, masked: str) -> None:
    assert mask_password(url) == masked


def test_db_choices_never_show_a_password(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", 'POSTGRES_SERVER=db\nPOSTGRES_PASSWORD="S3CRET-file"\n')
    choices = [
        database_choice("postgresql://app:S3CRET-cli@db/omc", None, {}),
        database_choice(None, None, {"DATABASE_URL": "host=db password=S3CRET-env"}),
        database_choice(None, env_file, {}),
    ]
    for choice in choices:
        assert choice is not None
        shown = repr(choice) + str(choice) + f"{choice!r}"
        assert "S3CRET" not in shown
        assert "***" in shown
    assert choices[2] is not None and choices[2].settings == {
        "POSTGRES_SERVER": "db",
        "POSTGRES_PASSWORD": "S3CRET-file",  # the value itself is intact for the connection
    }


def test_the_target_a_choice_becomes_never_shows_the_password() -> None:
    from omc_data.loaders.target import Target

    target = Target("postgresql://app:S3CRET@db:5432/omc", "DATABASE_URL")
    assert repr(target) == "Target('app@db:5432/omc', origin='DATABASE_URL')"
    assert "S3CRET" not in str(target) + target.describe()


# -- the store and the rest -----------------------------------------------------------------------------


def test_store_path_option_then_environment_then_default(tmp_path: Path) -> None:
    env = {"OMC_DATA_STORE": str(tmp_path / "env-store")}
    assert store_path(tmp_path / "opt", env) == tmp_path / "opt"
    assert store_path(None, env) == tmp_path / "env-store"
    assert store_path(None, {"OMC_DATA_STORE": ""}) == Path("snapshots")
    assert store_path(None, {}) == Path("snapshots")


def test_home_and_debug() -> None:
    assert config.home_path({}) == Path(".omc-data")
    assert config.home_path({"OMC_DATA_HOME": "/srv/omc"}) == Path("/srv/omc")
    assert [config.debug({"OMC_DATA_DEBUG": v}) for v in ("", "0", "false", "no", "1", "yes")] == [
        False,
        False,
        False,
        False,
        True,
        True,
    ]
    assert config.debug({}) is False


def test_diff_resources() -> None:
    assert config.diff_resources({}) == (None, None)
    env = {"OMC_DATA_DIFF_THREADS": " 2 ", "OMC_DATA_DIFF_MEMORY": "1GB"}
    assert config.diff_resources(env) == (2, "1GB")
    for bad in ("0", "-1", "two"):
        with pytest.raises(UsageError, match="is not a thread count"):
            config.diff_resources({"OMC_DATA_DIFF_THREADS": bad})
