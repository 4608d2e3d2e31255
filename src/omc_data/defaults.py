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
