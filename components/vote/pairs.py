"""Which pairs a voter sees, and on which side each image goes.

With 12 images there are 66 pairs; a voter gets a short set (PER_VOTER), and each next pair is
the one fewest ballots cover so far, so the audience covers every pair between them. Ties in
coverage are broken by a per-voter order, so two voters arriving at once do not walk the same
path. The side an image is shown on is a hash of voter and pair: shuffled, yet the same on a
reload.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence

PER_VOTER = 10
GRID = "grid"  # the one "pair" of a best-of-the-grid vote


def pair_key(a: str, b: str) -> str:
    one, two = sorted((a, b))
    return f"{one}|{two}"


def all_pairs(items: Sequence[str]) -> list[str]:
    return [pair_key(a, b) for a, b in itertools.combinations(items, 2)]


def _mix(voter: str, pair: str) -> str:
    return hashlib.sha256(f"{voter}\x1f{pair}".encode()).hexdigest()


def quota(items: Sequence[str], per_voter: int = PER_VOTER) -> int:
    return min(per_voter, len(all_pairs(items)))


def next_pair(
    items: Sequence[str],
    voter: str,
    done: set[str],
    coverage: Mapping[str, int],
    per_voter: int = PER_VOTER,
) -> str | None:
    """The next pair for this voter (None: their set is complete). `done` holds the pairs
    this voter has answered (skips included); `coverage` counts answers per pair, everyone's."""
    if len(done) >= quota(items, per_voter):
        return None
    left = [p for p in all_pairs(items) if p not in done]
    if not left:
        return None
    return min(left, key=lambda p: (coverage.get(p, 0), _mix(voter, p)))


def sides(voter: str, pair: str) -> tuple[str, str]:
    """(left, right) for this voter: a coin per voter and pair."""
    a, b = pair.split("|")
    return (a, b) if int(_mix(voter, pair)[0], 16) % 2 == 0 else (b, a)


def shuffled(voter: str, items: Sequence[str]) -> list[str]:
    """The grid's order for this voter: shuffled per voter, the same on a reload."""
    return sorted(items, key=lambda item: _mix(voter, item))
