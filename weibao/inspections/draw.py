"""双随机: the random draw of units and inspector pairs, as a pure function of its inputs.

The same seed, population, pool and conflicts always give the same result, on any machine and
Python version (random.Random with a string seed is specified to be stable), so a stored draw can
be re-run by anyone checking it.

Units: weighted sampling without replacement (Efraimidis–Spirakis: each unit gets the key
u^(1/w) and the largest keys win), so a unit with weight 2 is about twice as likely to be drawn.
Inspectors: for each drawn unit in turn, the least-loaded inspectors not conflicted with it,
ties broken by a shuffled order, so work spreads evenly and nobody picks their pairings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Pairing:
    unit: int
    inspectors: tuple[int, ...]


class DrawImpossible(Exception):
    """Too few inspectors without a conflict for some unit."""

    def __init__(self, unit: int) -> None:
        super().__init__(unit)
        self.unit = unit


def sample_size(population: int, ratio: Decimal | float) -> int:
    """At least one unit whenever there is one and the ratio is positive."""
    if population == 0 or ratio <= 0:
        return 0
    return min(population, max(1, math.ceil(population * float(ratio) - 1e-9)))


def draw(
    *,
    seed: str,
    ratio: Decimal | float,
    population: Sequence[tuple[int, float]],
    pool: Iterable[int],
    conflicts: Iterable[tuple[int, int]],
    per_unit: int = 2,
) -> list[Pairing]:
    """Draw units (id, weight) and give each `per_unit` inspectors from `pool` it is not
    conflicted with (conflicts are (inspector, unit) pairs)."""
    # Reproducibility is the point here, not secrecy: the seed itself is drawn with `secrets`.
    rng = random.Random(f"weibao-draw:{seed}")  # noqa: S311
    units = sorted(population)
    keyed = []
    for unit, weight in units:
        u = rng.random()
        # u in [0, 1); a zero u would give key 0 for every weight, which is fine (never wins).
        keyed.append((u ** (1.0 / weight) if weight > 0 else 0.0, unit))
    keyed.sort(key=lambda pair: (-pair[0], pair[1]))
    chosen = [unit for _key, unit in keyed[: sample_size(len(units), ratio)]]

    inspectors = sorted(set(pool))
    rng.shuffle(inspectors)
    order = {inspector: index for index, inspector in enumerate(inspectors)}
    blocked = set(conflicts)
    load = dict.fromkeys(inspectors, 0)
    pairings = []
    for unit in chosen:
        free = [i for i in inspectors if (i, unit) not in blocked]
        if len(free) < per_unit:
            raise DrawImpossible(unit)
        free.sort(key=lambda i: (load[i], order[i]))
        picked = tuple(sorted(free[:per_unit]))
        for inspector in picked:
            load[inspector] += 1
        pairings.append(Pairing(unit, picked))
    return pairings
