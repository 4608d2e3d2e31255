"""Independent, reproducible random streams.

Every generator and every entity draws from its own stream derived from (seed, table, ordinal), and ids
likewise, so adding one user does not reshuffle every order. Derivation is BLAKE2b over a fixed text
form: nothing depends on PYTHONHASHSEED, the clock, the locale or set order.
"""

from __future__ import annotations

import hashlib
import random
import uuid

import numpy as np


def derive(seed: int, *parts: str | int) -> int:
    """A 64-bit integer derived from ``seed`` and ``parts``."""
    text = "\x1f".join([str(seed), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def rng(seed: int, *parts: str | int) -> random.Random:
    return random.Random(derive(seed, *parts))


def np_rng(seed: int, *parts: str | int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(derive(seed, *parts)))


def derive_uuid(seed: int, table: str, ordinal: int) -> uuid.UUID:
    """A version-4-shaped uuid that is the same for the same (seed, table, ordinal)."""
    digest = hashlib.blake2b(f"{seed}\x1f{table}\x1f{ordinal}".encode(), digest_size=16).digest()
    return uuid.UUID(bytes=digest, version=4)
