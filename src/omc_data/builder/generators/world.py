"""What the generators of one build share: the spec, and the facts of entities already decided.

Generators never read each other's output. A child table asks the world for its parents' facts (a user's
id and creation time, which algorithms are active, a coin's price path), each computed once by the module
that owns the parent table and memoised here. Facts derive from (seed, table, ordinal) only, so they are
the same whether or not the parent table itself is part of the build.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from omc_data.builder.generators.spec import Spec

T = TypeVar("T")


class World:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._memo: dict[Callable[..., Any], Any] = {}

    def get(self, fact: Callable[[World], T]) -> T:
        """``fact(world)``, computed on first use and then remembered for this build."""
        if fact not in self._memo:
            self._memo[fact] = fact(self)
        return self._memo[fact]  # type: ignore[no-any-return]
