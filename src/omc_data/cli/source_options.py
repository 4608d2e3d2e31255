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
HttpTimeoutOpt = Annotated[float, typer.Option("--http-timeout", min=0.1, help="Seconds per HTTP request.")]
SourceBudgetOpt = Annotated[
    float, typer.Option("--source-budget", min=1.0, help="Seconds one source may take, retries included.")
]
HTTP_TIMEOUT = 10.0
SOURCE_BUDGET = 90.0


def source_list(text: str) -> list[str]:
    """``--sources a,b`` as names (the API says which are unknown)."""
    return [x.strip() for x in text.split(",") if x.strip()]


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
