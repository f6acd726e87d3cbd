from __future__ import annotations

from collections import Counter

import pytest

from weibao.inspections.draw import DrawImpossible, draw, sample_size


def test_same_inputs_same_result_and_seed_matters() -> None:
    population = [(u, 1.0) for u in range(1, 41)]
    one = draw(seed="s1", ratio=0.25, population=population, pool=[7, 8, 9, 10], conflicts=[])
    again = draw(
        seed="s1",
        ratio=0.25,
        population=list(reversed(population)),
        pool=[10, 9, 8, 7],
        conflicts=[],
    )
    other = draw(seed="s2", ratio=0.25, population=population, pool=[7, 8, 9, 10], conflicts=[])
    assert one == again
    assert len(one) == 10
    assert [p.unit for p in one] != [p.unit for p in other]


def test_weight_makes_a_unit_more_likely() -> None:
    population = [(1, 5.0)] + [(u, 1.0) for u in range(2, 21)]
    picked = Counter(
        p.unit
        for seed in range(400)
        for p in draw(seed=str(seed), ratio=0.1, population=population, pool=[1, 2], conflicts=[])
    )
    # Unit 1 has weight 5 among 19 of weight 1: drawn far more often than an ordinary unit.
    assert picked[1] > 3 * max(picked[u] for u in range(2, 21)) / 2


def test_conflicted_inspector_never_paired_and_load_spread() -> None:
    population = [(u, 1.0) for u in range(1, 13)]
    result = draw(
        seed="x", ratio=1, population=population, pool=[100, 101, 102, 103], conflicts=[(100, 5)]
    )
    load = Counter(i for p in result for i in p.inspectors)
    assert all(100 not in p.inspectors for p in result if p.unit == 5)
    assert max(load.values()) - min(load.values()) <= 1
    with pytest.raises(DrawImpossible):
        draw(seed="x", ratio=1, population=[(5, 1.0)], pool=[100, 101], conflicts=[(100, 5)])


def test_sample_size() -> None:
    assert sample_size(0, 0.5) == 0
    assert sample_size(10, 0) == 0
    assert sample_size(3, 0.1) == 1
    assert sample_size(10, 0.3) == 3
    assert sample_size(10, 1) == 10
