"""The one place that reads the environment: it turns it into explicit arguments for the CLI and the
pytest plugin. Library code never calls ``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from omc_data.errors import UsageError

ENV_STORE = "OMC_DATA_STORE"
ENV_DEBUG = "OMC_DATA_DEBUG"
ENV_HOME = "OMC_DATA_HOME"
DEFAULT_STORE = Path("snapshots")
DEFAULT_HOME = Path(".omc-data")
POSTGRES_SETTINGS = ("POSTGRES_SERVER", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB")


def environ() -> Mapping[str, str]:
    return os.environ


def store_path(cli_value: Path | None, env: Mapping[str, str]) -> Path:
    """``--store``, else ``OMC_DATA_STORE``, else ``./snapshots``."""
    if cli_value is not None:
        return cli_value
    if env.get(ENV_STORE):
        return Path(env[ENV_STORE])
    return DEFAULT_STORE


def home_path(env: Mapping[str, str]) -> Path:
    """Where omc-data keeps its local state (the local PostgreSQL): ``OMC_DATA_HOME`` or ``./.omc-data``."""
    return Path(env[ENV_HOME]) if env.get(ENV_HOME) else DEFAULT_HOME


def debug(env: Mapping[str, str]) -> bool:
    return env.get(ENV_DEBUG, "") not in ("", "0", "false", "no")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines as a backend ``.env`` holds them (comments, ``export`` and quotes allowed).

    UTF-8 (a byte-order mark is fine). A value in matching single or double quotes is taken as it
    stands between them (no escapes), and may be followed by a ``# comment``; an unquoted value ends at
    `` #``. Lines without ``=`` are ignored; a later line wins over an earlier one.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise UsageError(
            f"env file {path} is not UTF-8 text (line {bad_line})",
            hint="save the env file as UTF-8, or check the --env-file path",
        ) from None  # the decoder's message quotes the file's bytes, which may be a password's
    except OSError as exc:
        raise UsageError(
            f"cannot read env file {path}: {exc.strerror}", hint="check the --env-file path"
        ) from exc
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        out[key.strip()] = _env_value(value.strip())
    return out


def _env_value(value: str) -> str:
    if value[:1] in ("'", '"'):
        end = value.find(value[0], 1)
        if end > 0 and (not value[end + 1 :].strip() or value[end + 1 :].lstrip().startswith("#")):
            return value[1:end]
    if " #" in value:
        return value.split(" #", 1)[0].rstrip()
    return value


_URL_PASSWORD = re.compile(r"(://[^/:@?#]*:)[^/?#]*@")  # to the last @: a password may hold one
_PARAM_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*)", re.IGNORECASE)


def mask_password(url: str) -> str:
    """``url`` (a URL or ``key=value`` connection string) with any password replaced by ``***``."""
    return _PARAM_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


@dataclass(frozen=True)
class DbChoice:
    """A database named by the user's settings: a URL, or the backend's POSTGRES_* settings."""

    origin: str
    url: str | None = None
    settings: Mapping[str, str] | None = None

    def __repr__(self) -> str:  # the password never reaches a log line or a traceback's locals
        url = None if self.url is None else mask_password(self.url)
        settings = None
        if self.settings is not None:
            settings = {k: ("***" if "PASSWORD" in k.upper() else v) for k, v in self.settings.items()}
        return f"DbChoice(origin={self.origin!r}, url={url!r}, settings={settings!r})"


def database_choice(db: str | None, env_file: Path | None, env: Mapping[str, str]) -> DbChoice | None:
    """``--db``, else ``DATABASE_URL``, else ``POSTGRES_*`` (from ``--env-file`` over the environment).

    None means nothing is configured: the caller falls back to the local server omc-data started.
    """
    if db:
        return DbChoice("--db", url=db)
    file_values = read_env_file(env_file) if env_file else {}
    merged = {**env, **file_values}
    if merged.get("DATABASE_URL"):
        origin = "DATABASE_URL in " + str(env_file) if "DATABASE_URL" in file_values else "DATABASE_URL"
        return DbChoice(origin, url=merged["DATABASE_URL"])
    if merged.get("POSTGRES_SERVER"):
        settings = {k: merged[k] for k in POSTGRES_SETTINGS if merged.get(k)}
        origin = f"POSTGRES_* in {env_file}" if env_file else "POSTGRES_*"
        return DbChoice(origin, settings=settings)
    return None


ENV_DIFF_THREADS = "OMC_DATA_DIFF_THREADS"
ENV_DIFF_MEMORY = "OMC_DATA_DIFF_MEMORY"


def diff_resources(env: Mapping[str, str]) -> tuple[int | None, str | None]:
    """DuckDB's thread count and memory limit for ``diff`` (``OMC_DATA_DIFF_THREADS``, e.g. ``2``;
    ``OMC_DATA_DIFF_MEMORY``, e.g. ``1GB``); None leaves DuckDB's default."""
    threads_text = env.get(ENV_DIFF_THREADS, "").strip()
    threads: int | None = None
    if threads_text:
        try:
            threads = int(threads_text)
        except ValueError:
            threads = 0
        if threads < 1:
            raise UsageError(
                f"{ENV_DIFF_THREADS}={threads_text!r} is not a thread count",
                hint=f"set {ENV_DIFF_THREADS} to a whole number >= 1, or unset it",
            )
    memory = env.get(ENV_DIFF_MEMORY, "").strip() or None
    return threads, memory


def endpoints(env: Mapping[str, str], names: Mapping[str, str]) -> dict[str, str]:
    """The endpoints set in the environment: ``names`` maps each source to the variable overriding its
    endpoint (``OMC_DATA_<SOURCE>_URL``, the full URL, e.g. a mirror); the sources declare them."""
    out = {}
    for source, name in names.items():
        value = env.get(name, "").strip()
        if value:
            if not value.startswith(("http://", "https://")):
                # the value is not shown: a mistyped URL may still carry a token
                raise UsageError(
                    f"{name} is not an http(s) URL", hint=f"set {name} to a full URL, or unset it"
                )
            out[source] = value
    return out


def token(
    token_file: Path | None, env: Mapping[str, str], *, env_var: str, label: str, option: str
) -> str | None:
    """A source's token: the first line of ``token_file`` (given by ``option``), else ``env_var``.

    Never a command-line value: argv is visible to every user of the machine (``ps``). ``label`` names
    the token in messages (``CryptoPanic token``).
    """
    if token_file is not None:
        try:
            lines = token_file.read_text().strip().splitlines()
        except OSError as exc:
            raise UsageError(
                f"cannot read the {label} file {token_file}: {exc.strerror}", hint=f"check {option}"
            ) from exc
        value = lines[0].strip() if lines else ""
        if not value:
            raise UsageError(
                f"the {label} file {token_file} is empty", hint="put the token on its first line"
            )
        return value
    return env.get(env_var, "").strip() or None
