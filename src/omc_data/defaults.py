"""The documented defaults of a build, in one light module (the CLI's --help reads them instantly)."""

from __future__ import annotations

SEED = 42
# Every synthetic account's password unless --password says otherwise. A dev password, documented in
# the README: datasets are for development and tests, never for production.
PASSWORD = "omc-dev-password"
SUPERUSER_EMAIL = "admin@example.com"
BCRYPT_ROUNDS = 12
USERS = 10
COINS = 10
DAYS = 7
ALGORITHMS = 15
DEPLOYMENTS = 8  # deployed_algorithms, drawn from the active algorithms
AGENT_SESSIONS = 20
ORDERS_PER_USER = 20  # on average, for the users who trade (most of them)
NEWS = 100
PROTOCOLS = 20
# The count inputs of a build (Spec fields, manifest inputs, what a replay takes from a manifest)
COUNTS = (
    "users",
    "coins",
    "days",
    "algorithms",
    "deployments",
    "agent_sessions",
    "orders_per_user",
    "news",
    "protocols",
)
