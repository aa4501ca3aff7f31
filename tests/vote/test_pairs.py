"""Which pairs a voter gets and on which side: every pair covered between the voters, none
twice for one voter, a set that stops at the quota, sides shuffled yet stable."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from components.vote.pairs import GRID, PER_VOTER, all_pairs, next_pair, pair_key, quota, sides

ITEMS12 = [f"i{n:02d}" for n in range(12)]


def voter(n: int) -> str:
    return f"{n:032x}"


def take_set(
    items: list[str], who: str, coverage: Counter[str], per_voter: int = PER_VOTER
) -> list[str]:
    """One voter answers pairs until their set is complete, coverage updated as they go."""
    done: set[str] = set()
    taken: list[str] = []
    while (pair := next_pair(items, who, done, coverage, per_voter)) is not None:
        assert pair not in done
        done.add(pair)
        taken.append(pair)
        coverage[pair] += 1
        assert len(taken) <= len(all_pairs(items))  # never loops
    return taken


def test_pair_key_is_sorted_and_symmetric() -> None:
    assert pair_key("b", "a") == pair_key("a", "b") == "a|b"
    assert GRID == "grid" and "|" not in GRID


@pytest.mark.parametrize(("n", "pairs"), [(2, 1), (3, 3), (4, 6), (12, 66)])
def test_all_pairs_count(n: int, pairs: int) -> None:
    items = ITEMS12[:n]
    got = all_pairs(items)
    assert len(got) == pairs == n * (n - 1) // 2
    assert len(set(got)) == pairs
    assert set(got) == {pair_key(a, b) for a, b in itertools.combinations(items, 2)}
    for pair in got:
        a, b = pair.split("|")
        assert a < b


def test_quota() -> None:
    assert PER_VOTER == 10
    assert quota(ITEMS12) == 10
    assert quota(ITEMS12[:5]) == 10  # 10 pairs: exactly the quota
    assert quota(ITEMS12[:4]) == 6
    assert quota(ITEMS12[:2]) == 1
    assert quota(ITEMS12, per_voter=3) == 3


@pytest.mark.parametrize(("n", "expected"), [(2, 1), (3, 3), (4, 6), (5, 10), (12, 10)])
def test_a_set_stops_at_the_quota_without_repeats(n: int, expected: int) -> None:
    items = ITEMS12[:n]
    taken = take_set(items, voter(1), Counter())
    assert len(taken) == expected == quota(items)
    assert len(set(taken)) == len(taken)
    assert set(taken) <= set(all_pairs(items))


def test_next_pair_never_repeats_a_voters_pair_whatever_the_coverage() -> None:
    # Coverage that pulls hard towards pairs this voter has done: they are still not offered.
    done = set(all_pairs(ITEMS12)[:9])
    coverage = Counter({p: 0 for p in done})
    coverage.update({p: 50 for p in all_pairs(ITEMS12) if p not in done})
    pair = next_pair(ITEMS12, voter(3), done, coverage)
    assert pair is not None and pair not in done
    assert next_pair(ITEMS12, voter(3), done | {pair}, coverage) is None  # quota reached


def test_next_pair_none_when_every_pair_is_done() -> None:
    items = ITEMS12[:3]
    assert next_pair(items, voter(1), set(all_pairs(items)), {}, per_voter=99) is None


def test_next_pair_takes_the_least_covered() -> None:
    pairs = all_pairs(ITEMS12)
    coverage = {p: 3 for p in pairs}
    coverage[pairs[40]] = 1
    coverage[pairs[7]] = 2
    assert next_pair(ITEMS12, voter(5), set(), coverage) == pairs[40]
    assert next_pair(ITEMS12, voter(5), {pairs[40]}, coverage) == pairs[7]


def test_ties_in_coverage_are_broken_per_voter() -> None:
    firsts = {next_pair(ITEMS12, voter(n), set(), {}) for n in range(12)}
    assert len(firsts) >= 6  # voters arriving at once do not all start on one pair
    # ...yet each voter's choice is the same every time
    assert next_pair(ITEMS12, voter(4), set(), {}) == next_pair(ITEMS12, voter(4), set(), {})


def test_seven_voters_cover_all_66_pairs_evenly() -> None:
    coverage: Counter[str] = Counter()
    for n in range(7):
        taken = take_set(ITEMS12, voter(n), coverage)
        assert len(taken) == 10 and len(set(taken)) == 10
    pairs = all_pairs(ITEMS12)
    assert len(pairs) == 66
    counts = [coverage[p] for p in pairs]
    assert min(counts) >= 1
    assert max(counts) - min(counts) <= 1
    assert sum(counts) == 70
    assert set(coverage) == set(pairs)


def test_voters_taking_turns_cover_all_pairs_evenly() -> None:
    """Voters answering one pair at a time in turn (a live audience) balance too."""
    coverage: Counter[str] = Counter()
    done: dict[str, set[str]] = {voter(n): set() for n in range(13)}
    while True:
        moved = False
        for who, mine in done.items():
            pair = next_pair(ITEMS12, who, mine, coverage)
            if pair is not None:
                mine.add(pair)
                coverage[pair] += 1
                moved = True
        if not moved:
            break
    assert all(len(mine) == 10 for mine in done.values())
    counts = [coverage[p] for p in all_pairs(ITEMS12)]
    assert min(counts) >= 1
    assert max(counts) - min(counts) <= 1


def test_sides_hold_the_pair_and_are_stable() -> None:
    for n in range(20):
        for pair in all_pairs(ITEMS12[:4]):
            left, right = sides(voter(n), pair)
            assert {left, right} == set(pair.split("|")) and left != right
            assert sides(voter(n), pair) == (left, right)  # a reload shows the same


def test_sides_are_shuffled_across_voters() -> None:
    pair = pair_key("i03", "i07")
    lefts = [sides(voter(n), pair)[0] for n in range(200)]
    share = lefts.count("i03") / len(lefts)
    assert 0.35 <= share <= 0.65
    # and across pairs for one voter
    firsts = [sides(voter(1), p)[0] == p.split("|")[0] for p in all_pairs(ITEMS12)]
    assert 0.25 <= sum(firsts) / len(firsts) <= 0.75
