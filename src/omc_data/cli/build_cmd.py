"""``omc-data build``: generate a dataset and publish it as an immutable snapshot."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from omc_data import config, defaults
from omc_data.cli.output import CliProgress, Settings, emit_json, human_bytes, notice, stdout
from omc_data.errors import UsageError


def build_cmd(
    ctx: typer.Context,
    tag: Annotated[
        str, typer.Option("--tag", "-t", help="Tag of the new snapshot (immutable).", show_default=False)
    ],
    seed: Annotated[int, typer.Option(help="Seed of every random stream.")] = defaults.SEED,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="Instant the dataset represents (RFC 3339). [default: now, floored to 5 min]"
        ),
    ] = None,
    users: Annotated[
        int, typer.Option(min=0, help="Synthetic users besides the superuser.")
    ] = defaults.USERS,
    coins: Annotated[
        int, typer.Option(min=0, help="Coins with price history (from the ranked list).")
    ] = defaults.COINS,
    days: Annotated[
        int, typer.Option(min=1, help="Days of 5-minute price ticks ending at as-of.")
    ] = defaults.DAYS,
    algorithms: Annotated[
        int, typer.Option(min=0, help="Trading algorithms (types and statuses vary).")
    ] = defaults.ALGORITHMS,
    deployments: Annotated[
        int, typer.Option(min=0, help="Deployed algorithms, drawn from the active ones.")
    ] = defaults.DEPLOYMENTS,
    agent_sessions: Annotated[
        int, typer.Option(min=0, help="AI Lab sessions (3-12 messages each; artifacts when completed).")
    ] = defaults.AGENT_SESSIONS,
    orders_per_user: Annotated[
        int, typer.Option(min=0, help="Orders per trading user, on average (positions follow from fills).")
    ] = defaults.ORDERS_PER_USER,
    news: Annotated[int, typer.Option(min=0, help="Synthetic news posts.")] = defaults.NEWS,
    protocols: Annotated[
        int, typer.Option(min=0, help="DeFi protocols (one row per protocol per day).")
    ] = defaults.PROTOCOLS,
    superuser_email: Annotated[
        str | None,
        typer.Option(
            "--superuser-email", help=f"[env: FIRST_SUPERUSER; default: {defaults.SUPERUSER_EMAIL}]"
        ),
    ] = None,
    password: Annotated[
        str, typer.Option(help="Dev password of every synthetic account.", show_default=True)
    ] = defaults.PASSWORD,
    superuser_password: Annotated[
        str | None,
        typer.Option(
            "--superuser-password", help="[env: FIRST_SUPERUSER_PASSWORD; default: the dev password]"
        ),
    ] = None,
    bcrypt_rounds: Annotated[
        int, typer.Option(min=4, max=31, help="bcrypt cost factor.")
    ] = defaults.BCRYPT_ROUNDS,
    no_real_data: Annotated[
        bool, typer.Option("--no-real-data", help="Do not go online: every source is synthetic.")
    ] = False,
    parent: Annotated[str | None, typer.Option(help="Tag this snapshot derives from (recorded).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Build a snapshot: generate every table, check it, and publish it atomically.

    \b
    Examples:
      omc-data build --tag v12 --no-real-data
      omc-data build --tag ci-1 --no-real-data --seed 7 --as-of 2026-11-01T00:00:00Z --users 50 --json
    """
    from omc_data import api

    settings: Settings = ctx.obj
    env = config.environ()
    if not no_real_data:
        raise UsageError(
            "collecting real data is not available in this version of omc-data",
            hint="pass --no-real-data to build from synthetic sources",
        )
    started = time.perf_counter()
    progress = CliProgress(settings)
    with progress.session():
        manifest = api.build_snapshot(
            tag,
            store=settings.store,
            seed=seed,
            as_of=as_of,
            users=users,
            coins=coins,
            days=days,
            algorithms=algorithms,
            deployments=deployments,
            agent_sessions=agent_sessions,
            orders_per_user=orders_per_user,
            news=news,
            protocols=protocols,
            superuser_email=superuser_email or env.get("FIRST_SUPERUSER") or defaults.SUPERUSER_EMAIL,
            password=password,
            superuser_password=superuser_password or env.get("FIRST_SUPERUSER_PASSWORD") or None,
            bcrypt_rounds=bcrypt_rounds,
            parent=parent,
            progress=progress,
        )
    seconds = time.perf_counter() - started
    path = settings.store / tag
    if json:
        emit_json(
            {
                "tag": tag,
                "path": str(path),
                "seconds": round(seconds, 3),
                "rows": manifest.rows,
                "bytes": manifest.bytes,
                "tables": {name: t.rows for name, t in manifest.tables.items()},
                "sources": manifest.sources,
                "validation": {k: v for k, v in manifest.validation.items() if k != "checks"},
            }
        )
        return
    table = Table("table", "rows", "size", box=None)
    for name, t in manifest.tables.items():
        table.add_row(name, f"{t.rows:,}", human_bytes(t.bytes))
    stdout.print(table)
    stdout.print(
        f"built {tag}: {manifest.rows:,} rows in {seconds:.2f}s, "
        f"{manifest.validation.get('checks_run', 0)} checks passed -> {path}",
        markup=False,
    )
    notice(f"next: omc-data load {tag}", settings)


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)
