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


def derive_uuid(seed: int, table: str, ordinal: int | str) -> uuid.UUID:
    """A version-4-shaped uuid that is the same for the same (seed, table, ordinal)."""
    digest = hashlib.blake2b(f"{seed}\x1f{table}\x1f{ordinal}".encode(), digest_size=16).digest()
    return uuid.UUID(bytes=digest, version=4)


_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser over an array (uint64 arithmetic wraps, as it should)."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    out: np.ndarray = (x ^ (x >> np.uint64(31))) & _MASK
    return out


def rendezvous(seed: int, *parts: str | int, candidates: int, take: int = 1) -> list[int]:
    """The ``take`` winners among ``candidates`` (0..n-1) for the entity named by ``parts``.

    Highest-random-weight hashing: each candidate's score depends only on (seed, parts, candidate), so
    adding a candidate changes an entity's winner only when the newcomer wins. That keeps "one more user"
    from reassigning every session and algorithm to someone else.
    """
    if candidates <= 0:
        return []
    base = np.uint64(derive(seed, *parts, "rendezvous"))
    with np.errstate(over="ignore"):
        scores = _mix(np.arange(candidates, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + base)
    order = np.argsort(scores, kind="stable")[::-1]
    return [int(i) for i in order[:take]]
