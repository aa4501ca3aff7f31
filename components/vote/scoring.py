"""Scores from ballots: wins, losses, ties and skips per image, a win rate, a Bradley-Terry
score with a 95% interval, agreement between voters, and the same per variant.

Bradley-Terry: P(i beats j) = 1 / (1 + exp(theta_j - theta_i)). The fit maximises the
log-likelihood minus PRIOR/2 * sum(theta^2), a Gaussian prior on each score: with it an image
that wins every comparison on a small table still gets a finite score, and the scores sum to
zero. Newton's method on this strictly concave function converges in a few steps; the interval
is +-1.96 standard errors from the inverse of the negative Hessian at the optimum. A tie counts
as half a win for each side; skips count for nothing but are reported. A best-of-the-grid pick
counts as a win over every other image of the grid. (Our own 40 lines of numpy rather than a
fitting library: it is small, exact and needs nothing beyond what pandas brings.)
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PRIOR = 0.5
Z95 = 1.959964
TIE, SKIP, GRID = "tie", "skip", "grid"


@dataclass(frozen=True)
class ItemScore:
    item: str
    wins: int
    losses: int
    ties: int
    skips: int
    win_rate: float | None  # (wins + ties / 2) / comparisons; None before any comparison
    score: float
    low: float
    high: float

    @property
    def comparisons(self) -> int:
        return self.wins + self.losses + self.ties


@dataclass(frozen=True)
class VariantScore:
    dimension: str  # "prompt", "seed", "aspect ratio", ...
    value: str
    images: int
    comparisons: int
    win_rate: float | None


@dataclass(frozen=True)
class Result:
    items: list[ItemScore]  # best first
    answers: int  # every ballot, skips included
    voters: int
    ties: int
    skips: int
    agreement: float | None  # share of voter pairs answering the same pair alike
    agreement_pairs: int  # how many pairs had two answers or more
    variants: list[VariantScore]


def bradley_terry(wins: np.ndarray, prior: float = PRIOR) -> tuple[np.ndarray, np.ndarray]:
    """Scores and standard errors from `wins[i, j]` (how often i beat j, half for a tie)."""
    n = wins.shape[0]
    theta = np.zeros(n)
    total = wins + wins.T
    hessian = -prior * np.eye(n)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(theta[None, :] - theta[:, None]))
        grad = (wins - total * p).sum(axis=1) - prior * theta
        weight = total * p * (1.0 - p)
        hessian = weight.copy()
        np.fill_diagonal(hessian, -weight.sum(axis=1) - prior)
        step = np.linalg.solve(hessian, grad)
        theta = theta - step
        if float(np.max(np.abs(step), initial=0.0)) < 1e-12:
            break
    se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    return theta, se


def _outcomes(mode: str, items: Sequence[str], ballots: Iterable[tuple[str, str, str]]):
    """(winner, loser, weight) comparisons, and the per-item tie and skip counts."""
    known = set(items)
    duels: list[tuple[str, str, float]] = []
    ties: Counter[str] = Counter()
    skips: Counter[str] = Counter()
    for _voter, pair, choice in ballots:
        if mode == "best":
            if pair != GRID:
                continue
            if choice == SKIP:
                skips.update(items)
            elif choice in known:
                duels.extend((choice, other, 1.0) for other in items if other != choice)
            continue
        a, _, b = pair.partition("|")
        if a not in known or b not in known:
            continue
        if choice == SKIP:
            skips.update((a, b))
        elif choice == TIE:
            ties.update((a, b))
            duels += [(a, b, 0.5), (b, a, 0.5)]
        elif choice in (a, b):
            duels.append((choice, b if choice == a else a, 1.0))
    return duels, ties, skips


def agreement(ballots: Iterable[tuple[str, str, str]]) -> tuple[float | None, int]:
    """Of every two voters who answered the same pair (skips aside), the share who answered
    alike; and how many pairs had two answers or more."""
    by_pair: dict[str, Counter[str]] = {}
    for _voter, pair, choice in ballots:
        if choice != SKIP:
            by_pair.setdefault(pair, Counter())[choice] += 1
    same = pairs = used = 0
    for counts in by_pair.values():
        n = sum(counts.values())
        if n < 2:
            continue
        used += 1
        pairs += n * (n - 1) // 2
        same += sum(c * (c - 1) // 2 for c in counts.values())
    return (same / pairs if pairs else None), used


def score(
    mode: str,
    items: Sequence[str],
    ballots: Sequence[tuple[str, str, str]],
    variants: Mapping[str, Mapping[str, str]] | None = None,
    prior: float = PRIOR,
) -> Result:
    """Everything the results show. `ballots` are (voter, pair, choice); `variants` maps an
    item to what it was ({"seed": "42", "prompt": "a red car"}), for the per-variant table."""
    index = {item: k for k, item in enumerate(items)}
    duels, ties, skips = _outcomes(mode, items, ballots)
    wins = np.zeros((len(items), len(items)))
    won: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for winner, loser, weight in duels:
        wins[index[winner], index[loser]] += weight
        if weight == 1.0:
            won[winner] += 1
            lost[loser] += 1
    theta, se = bradley_terry(wins, prior) if items else (np.zeros(0), np.zeros(0))
    scored = []
    for item in items:
        k = index[item]
        comparisons = won[item] + lost[item] + ties[item]
        rate = (won[item] + ties[item] / 2) / comparisons if comparisons else None
        value = float(theta[k])
        spread = Z95 * float(se[k])
        scored.append(
            ItemScore(
                item,
                won[item],
                lost[item],
                ties[item],
                skips[item],
                rate,
                value,
                value - spread,
                value + spread,
            )  # fmt: skip
        )
    scored.sort(key=lambda s: (-s.score, s.item))
    agree, used = agreement(ballots)
    tie_answers = sum(1 for _, _, c in ballots if c == TIE)
    skip_answers = sum(1 for _, _, c in ballots if c == SKIP)
    return Result(
        scored,
        len(ballots),
        len({voter for voter, _, _ in ballots}),
        tie_answers,
        skip_answers,
        agree,
        used,
        _variants(scored, variants or {}),
    )


def _variants(
    scored: Sequence[ItemScore], variants: Mapping[str, Mapping[str, str]]
) -> list[VariantScore]:
    """Win rates pooled over the images that share a value, for each dimension that varies."""
    dimensions: dict[str, set[str]] = {}
    for described in variants.values():
        for dimension, value in described.items():
            dimensions.setdefault(dimension, set()).add(value)
    out = []
    for dimension in sorted(d for d, values in dimensions.items() if len(values) > 1):
        pooled: dict[str, list[ItemScore]] = {}
        for s in scored:
            shown = variants.get(s.item, {}).get(dimension)
            if shown is not None:
                pooled.setdefault(shown, []).append(s)
        for value, members in sorted(pooled.items()):
            comparisons = sum(m.comparisons for m in members)
            points = sum(m.wins + m.ties / 2 for m in members)
            rate = points / comparisons if comparisons else None
            out.append(VariantScore(dimension, value, len(members), comparisons, rate))
    return out


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
