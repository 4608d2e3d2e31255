"""bcrypt hashes for the synthetic accounts' documented dev passwords.

The salt is derived from the seed and the password, so a rebuild with the same seed gives the same hash
(and the same bytes); each distinct password is hashed once per build. The hashes are ordinary ``$2b$``
bcrypt, which the app's passlib/bcrypt verification accepts.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor

import bcrypt

from omc_data import defaults
from omc_data.builder.generators.streams import derive

DEFAULT_PASSWORD = defaults.PASSWORD
DEFAULT_ROUNDS = defaults.BCRYPT_ROUNDS

_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_TO_BCRYPT = bytes.maketrans(_STD, _BCRYPT)


def derived_salt(seed: int, password: str, rounds: int) -> bytes:
    """A bcrypt salt (``$2b$RR$`` + 22 characters) derived from the seed and the password."""
    if not 4 <= rounds <= 31:
        raise ValueError(f"bcrypt rounds must be between 4 and 31, not {rounds}")
    raw = derive(seed, "bcrypt-salt", password).to_bytes(8, "big") + derive(
        seed, "bcrypt-salt-2", password
    ).to_bytes(8, "big")
    encoded = base64.b64encode(raw)[:22].translate(_TO_BCRYPT)
    return b"$2b$%02d$" % rounds + encoded


def hash_passwords(seed: int, passwords: set[str], rounds: int) -> dict[str, str]:
    """Hash each distinct password once (in parallel: bcrypt releases the GIL)."""
    ordered = sorted(passwords)

    def one(password: str) -> str:
        return bcrypt.hashpw(password.encode(), derived_salt(seed, password, rounds)).decode()

    with ThreadPoolExecutor(max_workers=max(1, len(ordered))) as pool:
        return dict(zip(ordered, pool.map(one, ordered), strict=True))
