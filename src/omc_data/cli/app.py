"""The ``omc-data`` command: a thin typer layer over the Python API.

Exit codes: 0 ok, 1 operational error or failed check, 2 usage error, 130 interrupted.
Global options (``--store``, ``-v``, ``-q``) come before the command.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated

import typer

try:  # typer 0.2x raises usage errors of its own; older typer (the OMC backend pins 0.12.5) raises click's
    from typer.exceptions import TyperException as UsageProblem
except ImportError:  # pragma: no cover - exercised by CI's lowest-direct run
    from click.exceptions import ClickException as UsageProblem  # type: ignore[assignment]

from omc_data import config
from omc_data.cli import build_cmd, capture_cmd, collect_cmd, db_cmd, diff_cmd, load_cmd, store_cmds
from omc_data.cli.output import Settings, emit_json, render_error, setup_logging, stderr
from omc_data.errors import OmcDataError

HELP = """Build, load and compare versioned datasets for the Oh My Coins database.

\b
Examples:
  omc-data db up                                  # a local PostgreSQL to try things on
  omc-data build --tag v12 --no-real-data         # generate a snapshot into ./snapshots/v12
  omc-data load v12 --create-schema               # restore it (into the local server by default)
  omc-data diff v11 v12                           # what changed between two datasets
"""

app = typer.Typer(
    name="omc-data",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"omc-data {version('omc-data')}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    store: Annotated[
        Path | None,
        typer.Option("--store", help="Snapshot store folder [env: OMC_DATA_STORE; default: ./snapshots]"),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, show_default=False, help="More logs (-vv: debug).")
    ] = 0,
    quiet: Annotated[
        int, typer.Option("--quiet", "-q", count=True, show_default=False, help="Only errors on stderr.")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    env = config.environ()
    verbosity = -1 if quiet else verbose
    setup_logging(verbosity)
    ctx.obj = Settings(store=config.store_path(store, env), verbosity=verbosity)


store_cmds.register(app)
build_cmd.register(app)
collect_cmd.register(app)
load_cmd.register(app)
capture_cmd.register(app)
diff_cmd.register(app)
app.add_typer(db_cmd.app, name="db")


_GLOBAL_FLAGS = re.compile(r"^(-v+|-q+|--verbose|--quiet)$")


def hoist_global_flags(args: list[str]) -> list[str]:
    """Let -v/-q also follow the command (``omc-data build -q ...``) by moving them before it."""
    before_dashdash = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:before_dashdash] if _GLOBAL_FLAGS.match(a)]
    rest = [a for i, a in enumerate(args) if i >= before_dashdash or not _GLOBAL_FLAGS.match(a)]
    return flags + rest


# Commands that write a snapshot publish it only at the end; every other one changes nothing if stopped
_PUBLISHING = frozenset({"build", "capture", "collect"})
_GLOBAL_VALUED = frozenset({"--store"})
INTERRUPTED = 130


def interrupted_outcome(args: list[str]) -> str:
    """What an interrupted run left behind: loads and clears roll back, builds publish nothing."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_VALUED:
            skip = True
        elif not arg.startswith("-"):
            return "nothing was published" if arg in _PUBLISHING else "nothing was changed"
    return "nothing was changed"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code; errors become one line (JSON under --json), no traceback."""
    args = hoist_global_flags(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in args
    debug = config.debug(config.environ())
    try:
        result = app(args=args, prog_name="omc-data", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except UsageProblem as exc:  # usage errors: typer prints them with the usage line
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            stderr.print(f"error: {exc.format_message()}", markup=False)
        code = exc.exit_code
        if json_mode:  # the usage text went to stderr; stdout still carries one JSON document
            hint = "see the command's --help"
            error = {"kind": "usage_error", "message": exc.format_message(), "hint": hint, "exit_code": code}
            emit_json({"error": error})
    except (KeyboardInterrupt, typer.Abort):  # older typer lets click turn Ctrl-C into Abort
        code = INTERRUPTED
    except OmcDataError as exc:
        if debug:
            raise
        render_error(exc, json_mode=json_mode)
        code = exc.exit_code
    except Exception as exc:
        if debug:
            raise
        internal = OmcDataError(
            f"internal error: {type(exc).__name__}: {exc}",
            hint="rerun with OMC_DATA_DEBUG=1 for a traceback, and please report it",
        )
        render_error(internal, json_mode=json_mode)
        code = 1
    if code == INTERRUPTED:  # typer turns Ctrl-C into exit code 130, and says nothing
        say_interrupted(args, json_mode=json_mode)
    sys.exit(code)


def say_interrupted(args: list[str], *, json_mode: bool) -> None:
    message = f"interrupted: {interrupted_outcome(args)}"
    if json_mode:
        error = {"kind": "interrupted", "message": message, "hint": "run it again", "exit_code": INTERRUPTED}
        emit_json({"error": error})
    stderr.print(message, style="red", markup=False)
