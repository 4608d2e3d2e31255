"""The options ``build`` and ``collect`` share to reach the real sources, and the request they describe.

The source names, endpoint variables and token variables come from the source registry
(:data:`omc_data.builder.sources.REGISTRY`), which imports nothing heavy, so ``--help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from omc_data import config
from omc_data.builder.sources import REGISTRY
from omc_data.errors import UsageError

if TYPE_CHECKING:
    from omc_data.builder.live import CollectRequest

SOURCE_NAMES = ",".join(name for name, s in REGISTRY.items() if s.default)
_CRYPTOPANIC = REGISTRY["cryptopanic"].token
assert _CRYPTOPANIC is not None

SourcesOpt = Annotated[str, typer.Option("--sources", help="Sources to collect, comma-separated.")]
TokenFileOpt = Annotated[
    Path | None,
    typer.Option(
        _CRYPTOPANIC.option,
        help="File holding the CryptoPanic token (first line). "
        f"[env: {_CRYPTOPANIC.env}; without one the source is skipped]",
    ),
]
TOKEN_SOURCES = [name for name, s in REGISTRY.items() if s.token is not None]
TokenFilesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--token-file",
        metavar="SOURCE=FILE",
        help=f"A source's token from a file (first line); repeatable. Sources with tokens: "
        f"{', '.join(TOKEN_SOURCES)}.",
    ),
]
HttpTimeoutOpt = Annotated[float, typer.Option("--http-timeout", min=0.1, help="Seconds per HTTP request.")]
SourceBudgetOpt = Annotated[
    float, typer.Option("--source-budget", min=1.0, help="Seconds one source may take, retries included.")
]
HTTP_TIMEOUT = 10.0
SOURCE_BUDGET = 90.0


def source_list(text: str) -> list[str]:
    """``--sources a,b`` as names (the API says which are unknown)."""
    return [x.strip() for x in text.split(",") if x.strip()]


def token_files(named: dict[str, Path | None], pairs: list[str] | None) -> dict[str, Path | None]:
    """Token files by source: the per-source options (``named``) and each ``--token-file SOURCE=FILE``."""
    out = dict(named)
    for pair in pairs or []:
        name, sep, file = pair.partition("=")
        name, file = name.strip(), file.strip()
        if not sep or not file:
            raise UsageError(
                f"--token-file {pair!r} is not SOURCE=FILE", hint="e.g. --token-file cryptopanic=FILE"
            )
        if name not in TOKEN_SOURCES:
            raise UsageError(
                f"--token-file: source {name!r} takes no token",
                hint=f"sources with tokens: {', '.join(TOKEN_SOURCES)}",
            )
        if out.get(name) is not None and out[name] != Path(file):
            raise UsageError(f"two token files for {name}", hint="give one")
        out[name] = Path(file)
    return out


def collect_request(
    token_files: dict[str, Path | None], http_timeout: float, source_budget: float, *, token: bool = True
) -> CollectRequest:
    """The request the options and the environment describe: endpoints, tokens, retry policy.

    ``token_files``: the token file option given per source (by source name); ``token=False`` reads no
    token at all (a build that does not go online).
    """
    from omc_data.builder.fetch.http import RetryPolicy
    from omc_data.builder.live import CollectRequest

    env = config.environ()
    tokens: dict[str, str] = {}
    for name, source in REGISTRY.items() if token else ():
        if source.token is not None:
            value = config.token(
                token_files.get(name),
                env,
                env_var=source.token.env,
                label=source.token.label,
                option=source.token.option,
            )
            if value:
                tokens[name] = value
    return CollectRequest(
        endpoints=config.endpoints(env, {name: s.endpoint_env for name, s in REGISTRY.items()}),
        tokens=tokens,
        policy=RetryPolicy(timeout=http_timeout, budget=source_budget),
    )
