# omc-data developer recipes. `just --list` shows them; ./dev runs them on a fresh machine.

set shell := ["bash", "-euo", "pipefail", "-c"]

# uv's own Python downloads are out of reach here: use the interpreters present (3.10 to 3.13)
export UV_PYTHON_DOWNLOADS := env("UV_PYTHON_DOWNLOADS", "never")
# trust the certificates the system trusts (a proxy's own CA, as pip on Debian does), not only uv's bundle
export UV_SYSTEM_CERTS := env("UV_SYSTEM_CERTS", "true")

# Install Python dependencies from the lock file (and PostgreSQL from Debian when missing)
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "installing PostgreSQL server binaries from Debian" >&2
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        else
            echo "warning: no PostgreSQL server binaries; install them (apt-get install postgresql)" >&2
        fi
    fi
    uv sync --locked --compile-bytecode

# Start a local PostgreSQL, build a demo snapshot offline, load it, and show what is loaded
demo: setup
    uv run omc-data db up
    uv run omc-data db reset --yes
    uv run omc-data show demo >/dev/null 2>&1 || uv run omc-data build --tag demo --no-real-data --seed 42 --as-of 2026-11-01T00:00:00Z
    uv run omc-data load demo --create-schema
    uv run omc-data status
    uv run omc-data show demo
    @echo
    @echo "omc-data is installed in .venv, not on your PATH. To run the commands above and the README's:"
    @echo "  source .venv/bin/activate    then: omc-data --help"
    @echo "  or without activating:       .venv/bin/omc-data --help"

# Run the whole test suite (starts its own throwaway PostgreSQL)
test *args: setup
    uv run pytest {{args}}

# ruff (lint + format check), mypy --strict on src/, tests/ and bench/ (pyproject's [tool.mypy]), and the import layering contracts
lint: setup
    uv run ruff check src tests bench
    uv run ruff format --check src tests bench
    uv run mypy
    uv run lint-imports

# Format the code in place
fmt:
    uv run ruff format src tests bench
    uv run ruff check --fix src tests bench

# Benchmarks against baselines measured in the same run (e.g. `just bench --quick`, `just bench NAME`)
bench *args: setup
    uv run python -m bench {{args}}

# What CI runs: lint, the tests, and a smoke run of every benchmark
ci: lint test
    uv run python -m bench --quick
