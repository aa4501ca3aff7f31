"""Vote scoring against hand-computed values: the regularised Bradley-Terry fit and its
standard errors, win rates and counts, agreement, best-of-the-grid picks, per-variant rates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from components.vote.scoring import (
    PRIOR,
    Z95,
    ItemScore,
    Result,
    VariantScore,
    agreement,
    bradley_terry,
    score,
)

TINY = 1e-9  # a prior this small leaves the plain maximum-likelihood answer


def sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def by_item(result: Result) -> dict[str, ItemScore]:
    return {s.item: s for s in result.items}


def ballots_for(pair: str, choices: list[str]) -> list[tuple[str, str, str]]:
    """One answer per voter on one pair (voters v0, v1, ...)."""
    return [(f"v{n}", pair, choice) for n, choice in enumerate(choices)]


def bisect(f, lo: float, hi: float) -> float:
    """A root of f on [lo, hi] (f changes sign there), to machine precision."""
    f_lo = f(lo)
    assert f_lo * f(hi) < 0
    for _ in range(200):
        mid = (lo + hi) / 2
        f_mid = f(mid)
        if f_mid == 0:
            return mid
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return (lo + hi) / 2


def two_item_se(t: float, n: int, prior: float) -> float:
    """The hand formula: sqrt of the diagonal of inv([[w + l, -w], [-w, w + l]]), with
    w = n p (1 - p) at p = sigma(2t); the inverse of that 2x2 matrix has (w + l) / det on
    its diagonal."""
    p = sigma(2 * t)
    w = n * p * (1 - p)
    det = (w + prior) ** 2 - w**2
    return math.sqrt((w + prior) / det)


# Two images, a beats b three times and loses once ------------------------------------------

THREE_TO_ONE = ballots_for("a|b", ["a", "a", "a", "b"])


def test_three_to_one_without_prior_is_the_closed_form() -> None:
    # sigma(2t) = 3/4  =>  2t = ln 3
    result = score("pairwise", ["a", "b"], THREE_TO_ONE, prior=TINY)
    got = by_item(result)
    expected = math.log(3) / 2
    # The difference is what the data identify (exact but for the prior's 1e-9 pull); with a
    # prior this small the common level is pinned only to the solver's rounding (~1e-7).
    assert got["a"].score - got["b"].score == pytest.approx(math.log(3), abs=1e-8)
    assert got["a"].score == pytest.approx(expected, abs=1e-6)
    assert got["b"].score == pytest.approx(-expected, abs=1e-6)
    assert [s.item for s in result.items] == ["a", "b"]  # best first


def test_three_to_one_bradley_terry_directly() -> None:
    theta, se = bradley_terry(np.array([[0.0, 3.0], [1.0, 0.0]]), prior=TINY)
    assert theta[0] - theta[1] == pytest.approx(math.log(3), abs=1e-8)
    assert theta[0] == pytest.approx(math.log(3) / 2, abs=1e-6)
    assert theta[1] == pytest.approx(-math.log(3) / 2, abs=1e-6)
    assert np.all(np.isfinite(se))


def test_three_to_one_with_the_default_prior_solves_the_penalised_equation() -> None:
    assert PRIOR == 0.5
    # d/dt [3 log s(2t) + log(1 - s(2t)) - 0.5/2 * 2 t^2] = 0  <=>  3 - 4 s(2t) - 0.5 t = 0
    t = bisect(lambda x: 3 - 4 * sigma(2 * x) - 0.5 * x, 0.0, 2.0)
    assert 0 < t < math.log(3) / 2  # the prior pulls towards zero
    got = by_item(score("pairwise", ["a", "b"], THREE_TO_ONE))
    assert got["a"].score == pytest.approx(t, abs=1e-9)
    assert got["b"].score == pytest.approx(-t, abs=1e-9)


@pytest.mark.parametrize("prior", [PRIOR, 0.1, 2.0])
def test_two_item_standard_errors_match_the_hand_formula(prior: float) -> None:
    t = bisect(lambda x: 3 - 4 * sigma(2 * x) - prior * x, 0.0, 2.0)
    se_hand = two_item_se(t, 4, prior)
    theta, se = bradley_terry(np.array([[0.0, 3.0], [1.0, 0.0]]), prior=prior)
    assert theta[0] == pytest.approx(t, abs=1e-9)
    assert se[0] == pytest.approx(se_hand, rel=1e-9)
    assert se[1] == pytest.approx(se_hand, rel=1e-9)
    got = by_item(score("pairwise", ["a", "b"], THREE_TO_ONE, prior=prior))
    for item, value in (("a", t), ("b", -t)):
        assert got[item].low == pytest.approx(value - Z95 * se_hand, abs=1e-9)
        assert got[item].high == pytest.approx(value + Z95 * se_hand, abs=1e-9)


def test_counts_and_win_rates_three_to_one() -> None:
    result = score("pairwise", ["a", "b"], THREE_TO_ONE)
    got = by_item(result)
    assert (got["a"].wins, got["a"].losses, got["a"].ties, got["a"].skips) == (3, 1, 0, 0)
    assert (got["b"].wins, got["b"].losses, got["b"].ties, got["b"].skips) == (1, 3, 0, 0)
    assert got["a"].win_rate == pytest.approx(0.75)
    assert got["b"].win_rate == pytest.approx(0.25)
    assert got["a"].comparisons == 4
    assert (result.answers, result.voters, result.ties, result.skips) == (4, 4, 0, 0)


# Clean sweeps: a finite score thanks to the prior ---------------------------------------------


def test_clean_sweep_two_items_is_finite() -> None:
    result = score("pairwise", ["a", "b"], ballots_for("a|b", ["a"] * 5))
    got = by_item(result)
    # 5 - 5 s(2t) - 0.5 t = 0, solved here independently
    t = bisect(lambda x: 5 - 5 * sigma(2 * x) - 0.5 * x, 0.0, 20.0)
    assert got["a"].score == pytest.approx(t, abs=1e-9)
    assert got["b"].score == pytest.approx(-t, abs=1e-9)
    for s in result.items:
        assert all(math.isfinite(v) for v in (s.score, s.low, s.high))
        assert s.low < s.score < s.high
    assert got["a"].score > got["b"].score
    assert got["a"].win_rate == 1.0 and got["b"].win_rate == 0.0


def test_clean_sweep_three_items_one_wins_everything() -> None:
    ballots = [
        ("v1", "a|b", "a"),
        ("v1", "a|c", "a"),
        ("v1", "b|c", "b"),
        ("v2", "a|b", "a"),
        ("v2", "a|c", "a"),
        ("v2", "b|c", "b"),
    ]
    result = score("pairwise", ["c", "b", "a"], ballots)
    assert [s.item for s in result.items] == ["a", "b", "c"]
    scores = [s.score for s in result.items]
    assert scores[0] > scores[1] > scores[2]
    assert sum(scores) == pytest.approx(0, abs=1e-9)
    for s in result.items:
        assert all(math.isfinite(v) for v in (s.score, s.low, s.high))
        assert s.low < s.score < s.high
    got = by_item(result)
    assert (got["a"].wins, got["a"].losses, got["a"].win_rate) == (4, 0, 1.0)
    assert (got["b"].wins, got["b"].losses, got["b"].win_rate) == (2, 2, 0.5)
    assert (got["c"].wins, got["c"].losses, got["c"].win_rate) == (0, 4, 0.0)
    # b won as often as it lost, against a symmetric field: its score is 0
    assert got["b"].score == pytest.approx(0, abs=1e-9)
    assert got["a"].score == pytest.approx(-got["c"].score, abs=1e-9)


# Symmetric tables ---------------------------------------------------------------------------


def test_all_ties_score_zero() -> None:
    items = ["a", "b", "c"]
    ballots = [
        (voter, f"{x}|{y}", "tie")
        for voter in ("v1", "v2")
        for x, y in itertools.combinations(items, 2)
    ]
    result = score("pairwise", items, ballots)
    for s in result.items:
        assert s.score == pytest.approx(0, abs=1e-9)
        assert s.win_rate == 0.5
        assert (s.wins, s.losses, s.ties, s.skips) == (0, 0, 4, 0)
        assert s.comparisons == 4
        assert s.low < 0 < s.high
    assert result.ties == 6
    assert [s.item for s in result.items] == ["a", "b", "c"]  # equal scores: by name


def test_intransitive_cycle_gives_equal_scores() -> None:
    ballots = [("v1", "a|b", "a"), ("v1", "b|c", "b"), ("v1", "a|c", "c")]
    result = score("pairwise", ["a", "b", "c"], ballots)
    for s in result.items:
        assert s.score == pytest.approx(0, abs=1e-9)
        assert (s.wins, s.losses, s.ties) == (1, 1, 0)
        assert s.win_rate == 0.5
    first = result.items[0]
    for s in result.items[1:]:
        assert s.low == pytest.approx(first.low, abs=1e-9)
        assert s.high == pytest.approx(first.high, abs=1e-9)


def test_scores_sum_to_zero_and_gradient_vanishes_on_a_random_table() -> None:
    rng = np.random.default_rng(7)
    for n in (2, 5, 12):
        wins = rng.integers(0, 6, size=(n, n)).astype(float)
        np.fill_diagonal(wins, 0)
        theta, se = bradley_terry(wins)
        assert theta.sum() == pytest.approx(0, abs=1e-9)
        # the optimum: d/d theta_i of log-likelihood - PRIOR/2 |theta|^2 is zero
        total = wins + wins.T
        p = 1 / (1 + np.exp(theta[None, :] - theta[:, None]))
        grad = (wins - total * p).sum(axis=1) - PRIOR * theta
        assert np.max(np.abs(grad)) < 1e-9
        # standard errors: from the inverse of the negative Hessian at the optimum
        weight = total * p * (1 - p)
        neg_hessian = -weight
        np.fill_diagonal(neg_hessian, weight.sum(axis=1) + PRIOR)
        assert se == pytest.approx(np.sqrt(np.diag(np.linalg.inv(neg_hessian))), rel=1e-6)


def test_no_ballots_scores_everything_zero() -> None:
    result = score("pairwise", ["a", "b", "c"], [])
    for s in result.items:
        assert s.score == 0 and s.win_rate is None and s.comparisons == 0
        # with no data the prior alone: se = 1 / sqrt(PRIOR)
        assert s.high == pytest.approx(Z95 / math.sqrt(PRIOR))
    assert (result.answers, result.voters, result.agreement, result.agreement_pairs) == (
        0,
        0,
        None,
        0,
    )


# Counts, skips, what is ignored ---------------------------------------------------------------


def test_counts_and_win_rates_mixed() -> None:
    ballots = [
        ("v1", "a|b", "a"),
        ("v2", "a|b", "tie"),
        ("v3", "a|b", "b"),
        ("v1", "a|c", "a"),
        ("v2", "a|c", "skip"),
        ("v1", "b|c", "c"),
        ("v2", "b|c", "tie"),
    ]
    result = score("pairwise", ["a", "b", "c"], ballots)
    got = by_item(result)
    assert (got["a"].wins, got["a"].losses, got["a"].ties, got["a"].skips) == (2, 1, 1, 1)
    assert (got["b"].wins, got["b"].losses, got["b"].ties, got["b"].skips) == (1, 2, 2, 0)
    assert (got["c"].wins, got["c"].losses, got["c"].ties, got["c"].skips) == (1, 1, 1, 1)
    assert got["a"].win_rate == pytest.approx((2 + 0.5) / 4)
    assert got["b"].win_rate == pytest.approx((1 + 1) / 5)
    assert got["c"].win_rate == pytest.approx((1 + 0.5) / 3)
    assert (result.answers, result.voters, result.ties, result.skips) == (7, 3, 2, 1)


def test_skips_are_counted_but_ignored_in_the_fit() -> None:
    base = [("v1", "a|b", "a"), ("v2", "a|b", "a"), ("v3", "b|c", "c"), ("v1", "a|c", "tie")]
    skips = [("v4", "a|b", "skip"), ("v4", "b|c", "skip"), ("v5", "b|c", "skip")]
    plain = score("pairwise", ["a", "b", "c"], base)
    skipped = score("pairwise", ["a", "b", "c"], base + skips)
    for s, t in zip(plain.items, skipped.items, strict=True):
        assert s.item == t.item
        assert (s.score, s.low, s.high, s.win_rate) == (t.score, t.low, t.high, t.win_rate)
        assert (s.wins, s.losses, s.ties) == (t.wins, t.losses, t.ties)
    assert {s.item: s.skips for s in skipped.items} == {"a": 1, "b": 3, "c": 2}
    assert (skipped.answers, skipped.skips, skipped.voters) == (7, 3, 5)
    assert plain.agreement == skipped.agreement


def test_ballots_outside_the_items_are_ignored() -> None:
    ballots = [
        ("v1", "a|b", "a"),
        ("v1", "a|z", "a"),  # z is not in this vote
        ("v1", "grid", "b"),  # a best-of pick in a pairwise vote
        ("v2", "a|b", "c"),  # an answer that is not one of the pair
    ]
    got = by_item(score("pairwise", ["a", "b", "c"], ballots))
    assert (got["a"].wins, got["a"].losses) == (1, 0)
    assert (got["b"].wins, got["b"].losses) == (0, 1)
    assert got["c"].comparisons == 0 and got["c"].win_rate is None


# Agreement ---------------------------------------------------------------------------------


def test_agreement_two_of_three() -> None:
    # voter pairs: (v0,v1) alike, (v0,v2) and (v1,v2) not: 1 of 3
    assert agreement(ballots_for("a|b", ["a", "a", "b"])) == (pytest.approx(1 / 3), 1)


def test_agreement_ignores_skips_and_single_answers() -> None:
    ballots = ballots_for("a|b", ["a", "a", "b", "skip", "skip"])
    ballots.append(("v9", "a|c", "c"))  # one answer: no voter pair to agree or not
    ballots.append(("v8", "b|c", "b"))
    ballots.append(("v9", "b|c", "skip"))  # with a skip: still one answer
    agree, used = agreement(ballots)
    assert agree == pytest.approx(1 / 3)
    assert used == 1


def test_agreement_pools_voter_pairs_over_pairs() -> None:
    ballots = ballots_for("a|b", ["a", "a", "b"]) + ballots_for("b|c", ["c", "c"])
    ballots += ballots_for("a|c", ["tie", "tie", "tie", "a"])
    # a|b: 1 of 3 alike; b|c: 1 of 1; a|c: 3 of 6  =>  5 of 10
    assert agreement(ballots) == (pytest.approx(0.5), 3)
    result = score("pairwise", ["a", "b", "c"], ballots)
    assert result.agreement == pytest.approx(0.5)
    assert result.agreement_pairs == 3


def test_agreement_none_without_two_answers_on_any_pair() -> None:
    assert agreement([]) == (None, 0)
    assert agreement([("v1", "a|b", "a"), ("v1", "a|c", "c")]) == (None, 0)
    assert agreement(ballots_for("a|b", ["skip", "skip", "a"])) == (None, 0)


def test_full_agreement() -> None:
    assert agreement(ballots_for("a|b", ["b"] * 4)) == (1.0, 1)
    assert agreement(ballots_for("a|b", ["a", "b"])) == (0.0, 1)


# Best of the grid ----------------------------------------------------------------------------


def test_best_of_grid_pick_beats_every_other_item() -> None:
    items = ["a", "b", "c", "d"]
    ballots = [
        ("v1", "grid", "a"),
        ("v2", "grid", "a"),
        ("v3", "grid", "b"),
        ("v4", "grid", "skip"),
        ("v5", "a|b", "b"),  # a pairwise answer means nothing in a best-of vote
    ]
    result = score("best", items, ballots)
    got = by_item(result)
    assert (got["a"].wins, got["a"].losses, got["a"].skips) == (6, 1, 1)
    assert (got["b"].wins, got["b"].losses, got["b"].skips) == (3, 2, 1)
    assert (got["c"].wins, got["c"].losses, got["c"].skips) == (0, 3, 1)
    assert (got["d"].wins, got["d"].losses, got["d"].skips) == (0, 3, 1)
    assert got["a"].win_rate == pytest.approx(6 / 7)
    assert got["b"].win_rate == pytest.approx(3 / 5)
    assert [s.item for s in result.items] == ["a", "b", "c", "d"]
    assert got["c"].score == pytest.approx(got["d"].score, abs=1e-12)
    # the same fit as the table of wins the picks stand for
    wins = np.zeros((4, 4))
    wins[0, 1:] += 2  # a over b, c, d, twice
    wins[1, [0, 2, 3]] += 1  # b over a, c, d
    theta, se = bradley_terry(wins)
    for k, item in enumerate(items):
        assert got[item].score == pytest.approx(theta[k], abs=1e-12)
        assert got[item].high - got[item].score == pytest.approx(Z95 * se[k], abs=1e-12)
    assert (result.answers, result.voters, result.skips, result.ties) == (5, 5, 1, 0)
    # agreement on the grid: v1, v2, v3 answered the one "pair": 1 of 3 voter pairs alike
    assert result.agreement == pytest.approx(1 / 3)
    assert result.agreement_pairs == 1  # the stray pairwise answer has no second answer


def test_best_of_grid_unknown_pick_is_ignored() -> None:
    got = by_item(score("best", ["a", "b"], [("v1", "grid", "zz"), ("v2", "grid", "b")]))
    assert (got["b"].wins, got["a"].losses, got["a"].wins) == (1, 1, 0)


# Variants ------------------------------------------------------------------------------------


def test_variants_pool_win_rates_per_value_of_a_varying_dimension() -> None:
    items = ["a", "b", "c", "d", "e"]
    variants = {
        "a": {"seed": "1", "prompt": "a red car"},
        "b": {"seed": "1", "prompt": "a red car"},
        "c": {"seed": "2", "prompt": "a red car"},
        "d": {"seed": "2", "prompt": "a red car"},
        "e": {"seed": "3", "prompt": "a red car"},
    }
    ballots = [
        ("v1", "a|c", "a"),
        ("v1", "a|d", "a"),
        ("v1", "b|c", "b"),
        ("v1", "b|d", "d"),
        ("v1", "a|b", "tie"),
    ]
    result = score("pairwise", items, ballots, variants)
    # seed 1: a (2 wins, 1 tie of 3) and b (1 win, 1 loss, 1 tie of 3): 4 points of 6
    # seed 2: c (2 losses) and d (1 win, 1 loss): 1 point of 4
    # seed 3: e never compared
    assert result.variants == [
        VariantScore("seed", "1", 2, 6, pytest.approx(4 / 6)),
        VariantScore("seed", "2", 2, 4, 0.25),
        VariantScore("seed", "3", 1, 0, None),
    ]
    assert all(v.dimension != "prompt" for v in result.variants)  # constant: not reported


def test_variants_several_dimensions_sorted_and_none_without_variants() -> None:
    variants = {
        "a": {"seed": "1", "aspect ratio": "16:9"},
        "b": {"seed": "2", "aspect ratio": "16:9"},
        "c": {"seed": "1", "aspect ratio": "1:1"},
    }
    ballots = [("v1", "a|b", "a"), ("v1", "a|c", "c"), ("v1", "b|c", "c")]
    result = score("pairwise", ["a", "b", "c"], ballots, variants)
    assert [(v.dimension, v.value) for v in result.variants] == [
        ("aspect ratio", "16:9"),
        ("aspect ratio", "1:1"),
        ("seed", "1"),
        ("seed", "2"),
    ]
    rates = {(v.dimension, v.value): v.win_rate for v in result.variants}
    assert rates[("aspect ratio", "16:9")] == pytest.approx(1 / 4)  # a: 1-1, b: 0-2
    assert rates[("aspect ratio", "1:1")] == 1.0  # c: 2-0
    assert rates[("seed", "1")] == pytest.approx(3 / 4)  # a: 1-1, c: 2-0
    assert rates[("seed", "2")] == 0.0
    assert score("pairwise", ["a", "b", "c"], ballots).variants == []
    constant = {item: {"seed": "1"} for item in ("a", "b", "c")}
    assert score("pairwise", ["a", "b", "c"], ballots, constant).variants == []
