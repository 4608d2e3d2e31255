"""``omc-data build``: generate a dataset and publish it as an immutable snapshot."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from omc_data import config, defaults
from omc_data.builder.inputs import BuildInputs, RealDataMode
from omc_data.cli.output import CliProgress, Settings, emit_json, human_bytes, notice, stdout, warn
from omc_data.cli.source_options import (
    HTTP_TIMEOUT,
    SOURCE_BUDGET,
    SOURCE_NAMES,
    HttpTimeoutOpt,
    SourceBudgetOpt,
    TokenFileOpt,
    TokenFilesOpt,
    collect_request,
    source_list,
    token_files,
)
from omc_data.errors import UsageError

# The spec inputs a replay takes from the replayed snapshot's manifest unless given on the command line.
REPLAYABLE = (
    "seed",
    "as_of",
    *defaults.COUNTS,
    "superuser_email",
    "password",
    "superuser_password",
    "bcrypt_rounds",
)


def build_cmd(
    ctx: typer.Context,
    tag: Annotated[
        str, typer.Option("--tag", "-t", help="Tag of the new snapshot (immutable).", show_default=False)
    ],
    seed: Annotated[int, typer.Option(help="Seed of every random stream.")] = defaults.SEED,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Instant the dataset represents (RFC 3339); offline, replayed or collected builds only. "
            "[default: now, floored to 5 min]",
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
    news: Annotated[
        int, typer.Option(min=0, help="News posts (CryptoPanic's newest, or synthetic stand-ins).")
    ] = defaults.NEWS,
    protocols: Annotated[
        int,
        typer.Option(
            min=0, help="DeFi protocols: DeFiLlama's top N by TVL, or stand-ins with one row per day."
        ),
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
    from_collected: Annotated[
        bool,
        typer.Option(
            "--from-collected",
            help="Use the responses 'omc-data collect' filed in the store instead of going online "
            "(as-of defaults to the latest collected tick).",
        ),
    ] = False,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay",
            metavar="TAG",
            help="Rebuild TAG offline from its raw/ responses and manifest inputs (options given override).",
        ),
    ] = None,
    sources: Annotated[
        str, typer.Option("--sources", help="Real sources to collect, comma-separated; others are synthetic.")
    ] = SOURCE_NAMES,
    require_real_data: Annotated[
        bool,
        typer.Option(
            "--require-real-data", help="Fail (publishing nothing) if any source is degraded or skipped."
        ),
    ] = False,
    no_synthetic: Annotated[
        bool,
        typer.Option("--no-synthetic", help="Build only the collected tables; fail if a source fails."),
    ] = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Fit each coin's price volatility and spread to the Coinspot ticks collected in the store.",
        ),
    ] = False,
    cryptopanic_token_file: TokenFileOpt = None,
    token_file: TokenFilesOpt = None,
    http_timeout: HttpTimeoutOpt = HTTP_TIMEOUT,
    source_budget: SourceBudgetOpt = SOURCE_BUDGET,
    parent: Annotated[str | None, typer.Option(help="Tag this snapshot derives from (recorded).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")] = False,
) -> None:
    """Build a snapshot: collect real data, generate the rest, check it, and publish it atomically.

    Real data (Coinspot prices, DeFiLlama TVL, CryptoPanic news) is fetched unless --no-real-data. A
    source that fails is 'degraded': the build goes on with synthetic stand-ins and says so.
    Endpoints: OMC_DATA_COINSPOT_URL, OMC_DATA_DEFILLAMA_URL, OMC_DATA_CRYPTOPANIC_URL.

    \b
    Examples:
      omc-data build --tag v12
      omc-data build --tag v12 --require-real-data --sources coinspot,defillama
      omc-data build --tag dev --no-real-data --seed 7 --as-of 2026-11-01T00:00:00Z --users 50 --json
      omc-data build --tag v12b --replay v12
      omc-data build --tag week --from-collected --days 7
    """
    from omc_data import api

    settings: Settings = ctx.obj
    env = config.environ()
    _one_way_to_real_data(no_real_data=no_real_data, from_collected=from_collected, replay=replay)
    if no_real_data and no_synthetic:
        raise UsageError(
            "--no-real-data with --no-synthetic leaves nothing to build",
            hint="drop one of them: --no-synthetic builds only the collected tables",
        )
    progress = CliProgress(settings)
    started = time.perf_counter()
    if replay is not None:
        manifest = _replay(ctx, tag, replay, parent, settings, progress)
        _report(tag, manifest, settings, started, json)
        return
    real_data: RealDataMode = "off" if no_real_data else "collected" if from_collected else "live"
    collector = collect_request(
        token_files({"cryptopanic": cryptopanic_token_file}, token_file),
        http_timeout,
        source_budget,
        token=real_data == "live",
    )
    inputs = BuildInputs(
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
        real_data=real_data,
        sources=source_list(sources),
        require_real_data=require_real_data,
        calibrate=calibrate,
        synthetic=not no_synthetic,
    )
    with progress.session():
        manifest = api.build_snapshot(
            tag, store=settings.store, inputs=inputs, collector=collector, progress=progress
        )
    _report(tag, manifest, settings, started, json)


def _one_way_to_real_data(*, no_real_data: bool, from_collected: bool, replay: str | None) -> None:
    """--no-real-data, --from-collected and --replay each say where real data comes from: one at most."""
    modes = [
        flag
        for flag, on in (
            ("--no-real-data", no_real_data),
            ("--from-collected", from_collected),
            ("--replay", replay is not None),
        )
        if on
    ]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined", hint="pick one way to get real data")


LIVE_ONLY = (
    "sources",
    "require_real_data",
    "cryptopanic_token_file",
    "token_file",
    "http_timeout",
    "source_budget",
)


def _replay(
    ctx: typer.Context, tag: str, of: str, parent: str | None, settings: Settings, progress: CliProgress
) -> Any:
    """``--replay OF``: the options given on the command line override the recorded inputs."""
    from omc_data import api

    stray = [f"--{n.replace('_', '-')}" for n in LIVE_ONLY if _given(ctx, n)]
    if stray:
        raise UsageError(
            f"{', '.join(stray)} does not apply to --replay: a replay never goes online",
            hint="drop it, or build anew without --replay",
        )
    given = {name: ctx.params[name] for name in REPLAYABLE if _given(ctx, name)}
    if _given(ctx, "no_synthetic"):
        given["synthetic"] = not ctx.params["no_synthetic"]
    with progress.session():
        return api.replay_snapshot(tag, of, store=settings.store, parent=parent, progress=progress, **given)


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


def _report(tag: str, manifest: Any, settings: Settings, started: float, json: bool) -> None:
    seconds = time.perf_counter() - started
    path = settings.store / tag
    real_data = manifest.inputs.get("real_data")
    replay_of = real_data.get("replay_of") if isinstance(real_data, dict) else None
    for line, loud in source_lines(manifest.sources, replay_of=replay_of):
        if loud:
            warn(line)
        else:
            notice(line, settings)
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
    degraded = [name for name, record in manifest.sources.items() if record.get("outcome") == "degraded"]
    how = f" (degraded: {', '.join(degraded)} fell back to synthetic stand-ins)" if degraded else ""
    stdout.print(
        f"built {tag}{how}: {manifest.rows:,} rows in {seconds:.2f}s, "
        f"{manifest.validation.get('checks_run', 0)} checks passed -> {path}",
        markup=False,
    )
    notice(f"next: omc-data load {tag}", settings)


def source_lines(
    sources: dict[str, dict[str, Any]], *, replay_of: str | None = None
) -> list[tuple[str, bool]]:
    """One line per source that was not plainly synthetic; degraded ones are loud.

    A replay says once, quietly, which sources were degraded in the snapshot it replays: that was
    news when it was built, not now.
    """
    out = []
    for name, record in sources.items():
        outcome = record.get("outcome")
        if outcome == "degraded" and replay_of is not None:
            line = f"{name}: was degraded in {replay_of} ({record.get('reason')}); synthetic stand-in again"
            out.append((line, False))
        elif outcome in ("collected", "replayed"):
            skipped = sum(record.get("skipped", {}).values())
            extra = f", {skipped} skipped" if skipped else ""
            note = f"; {record['reason']}" if record.get("reason") else ""
            out.append((f"{name}: {outcome}, {record.get('rows', 0):,} rows{extra}{note}", False))
        elif outcome == "degraded":
            out.append(
                (
                    f"{name} DEGRADED: {record.get('reason')}; "
                    f"synthetic stand-in used for {record.get('table')}",
                    True,
                )
            )
        elif outcome == "skipped":
            out.append((f"{name} skipped: {record.get('reason')}", False))
    return out


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)
