"""The chapter-text helpers of Part II (helper fmt2): the numbers they compute from a result
against the same numbers computed by hand, to 1e-12 or exactly, and the texts quoting them."""
import numpy as np
import pytest

from twophase.local.experiments import (Estimates, HutchinsonMSE, Reductions, bias_correction_gap,
                                        estimate_summary, reduction_texts)
from twophase.local.figures import CAPTIONS, caption


def _estimates():
    rng = np.random.default_rng(3)
    d = 6
    diagA = np.linspace(0.1, 1.0, d)
    hm = HutchinsonMSE(np.array([1, 4]), np.array([0.5, 0.2]), np.array([0.1, 0.05]),
                       np.array([0.4, 0.1]))
    far = 2.0 * diagA + 0.01 * rng.standard_normal(d)
    return Estimates(diagA, hm, diagA + 0.01, np.array([-3.0, 1.0, 0.5, -0.2, 2.0, 0.1]),
                     far, np.full(d, 0.45), 2.0 * diagA, np.full(d, 0.44), 0.5)


def test_estimate_summary_numbers_are_the_definitions():
    """z, median |z_oasis|, the correlation, Dhat/sigma and the bias-correction gap against
    the formulas of the docstring, evaluated here by hand."""
    est = _estimates()
    s = estimate_summary(est, beta=0.9, kappa=100.0, n_reps=20)
    np.testing.assert_allclose(s.z_hutch, [(0.5 - 0.4) / 0.1, (0.2 - 0.1) / 0.05], rtol=1e-12)
    assert s.med_oasis == pytest.approx(np.median([3.0, 1.0, 0.5, 0.2, 2.0, 0.1]), rel=1e-12)
    size = np.sqrt(est.grad_far ** 2 + 0.25)
    assert s.corr_far == pytest.approx(np.corrcoef(est.adam_far, size)[0, 1], rel=1e-12)
    np.testing.assert_allclose(s.near, 0.9, rtol=1e-12)
    np.testing.assert_allclose(s.gap, [1 / np.sqrt(0.1) - 1, 1 / np.sqrt(1 - 0.9 ** 20) - 1],
                               rtol=1e-12)
    np.testing.assert_allclose(s.gap, bias_correction_gap(0.9, [1, 20]), rtol=0, atol=0)


def test_estimate_summary_texts_quote_the_numbers():
    """Every claim key of chapter 5's estimates has a detail, and each quotes its number."""
    s = estimate_summary(_estimates(), beta=0.9, kappa=100.0, n_reps=20, k=4.0)
    assert set(s.details) == {"ch5-hutchinson-error-rate", "ch5-oasis-tracks-diagonal",
                              "ch5-adam-near-optimum-is-noise-level",
                              "ch5-adam-far-tracks-gradient-size"}
    assert "[1.0, 2.0] (|z| <= 4.0, 20 repetitions each)" in s.details["ch5-hutchinson-error-rate"]
    assert "median standardized error 0.75" in s.details["ch5-oasis-tracks-diagonal"]
    assert "Dhat/sigma in [0.90, 0.90]" in s.details["ch5-adam-near-optimum-is-noise-level"]
    assert "d = 6, kappa ~ 100" in s.conditions and "at beta = 0.9)" in s.conditions


def test_reduction_texts():
    """The details quote the differences in the chapter's formats."""
    tx = reduction_texts(Reductions(0.0, 1.234e-16), rounds=12, H=5)
    assert tx.details["ch5-identity-is-local-sgd"] == "max |difference| = 0.0e+00 after 12 rounds of H=5"
    assert tx.details["ch5-h1-is-minibatch-scaled-sgd"] == "relative difference 1.2e-16 (bound 1e-12)"
    assert tx.summary.splitlines()[1].endswith("max relative difference 1.2e-16")
    assert "after 12 rounds of H = 5" in tx.conditions


def test_caption_fills_its_fields_and_refuses_others():
    """Templates are filled exactly; a missing or extra value is refused, never left blank."""
    assert caption("ch7_equal_work", M=4, H=5).startswith(
        "Train loss against per-worker gradient work (M=4, H=5)")
    assert caption("ch6_client_drift") == CAPTIONS["ch6_client_drift"]
    with pytest.raises(ValueError, match="M"):
        caption("ch7_equal_work", M=4)
    with pytest.raises(ValueError, match="takes exactly"):
        caption("ch6_client_drift", M=4)
    assert all("{" not in caption(n, **{f: 1 for f in ("M", "H", "S") if "{" + f + "}" in t})
               for n, t in CAPTIONS.items())


def test_ill_numbers_quotes_the_medians_and_their_ratio():
    """Speed-up = Local SGD's median over the best scaled median, each shown as computed."""
    from twophase.local.experiments import IllConditioned, ill_numbers

    med = {"axis": {"Local SGD": 120.0, "OASIS-type": 8.0},
           "rotated": {"Local SGD": 80.0, "OASIS-type": 90.0}}
    best = {"axis": "OASIS-type", "rotated": "OASIS-type"}
    speed = {b: med[b]["Local SGD"] / med[b][best[b]] for b in med}
    ic = IllConditioned({"axis": {}, "rotated": {}}, {}, {}, med, speed, best, [])
    out = ill_numbers(ic, kappa=1000.0, target=1e-5)
    assert out == {"ch6_speedup_axis": "15.0", "ch6_best_axis": "OASIS-type",
                   "ch6_sgd_rounds_axis": "120", "ch6_best_rounds_axis": "8",
                   "ch6_speedup_rotated": "0.9", "ch6_best_rotated": "OASIS-type",
                   "ch6_sgd_rounds_rotated": "80", "ch6_best_rounds_rotated": "90",
                   "ch6_ill_kappa": "1000", "ch6_ill_target": "1e-05"}


# ----------------------------------------------------------------------------- chapter 7
def _grid():
    acc = {"iid": 0.95, "dirichlet": 0.90}
    res = {}
    for sp in ("iid", "dirichlet"):
        for m, clip in (("identity", [0.0]), ("adam", [0.2, 0.4]), ("oasis", [0.1])):
            a = np.full((2, 3), acc[sp])
            a[1, -1] -= 0.02 if m == "oasis" else 0.0
            res[(4, 5, sp, m)] = {"acc": a, "clipped": clip}
    return res


def test_grid_numbers():
    """Clipped shares (mean of per-configuration means), the lowest final accuracy and the
    iid-minus-Dirichlet gap of the seed means, against the values set in the fake grid."""
    from twophase.local.digits import grid_numbers

    out = grid_numbers(_grid())
    assert out["ch7_clip_adam"] == "30%" and out["ch7_clip_oasis"] == "10%"
    assert "ch7_clip_identity" not in out
    assert out["ch7_min_acc"] == "0.880"
    assert out["ch7_iid_gap"] == "+0.050"
    one = {k: v for k, v in _grid().items() if k[2] == "iid"}
    assert grid_numbers(one)["ch7_iid_gap"] == "n/a"


def test_method_costs_and_cost_numbers():
    """Per-round work at H = 1 after the first round: Local SGD one gradient (batch), RMSProp/
    Adam one more (the refresh), OASIS one HVP (2 * hvp_batch); the warm start n_warm HVPs."""
    from twophase.local import make_precond
    from twophase.local.digits import cost_numbers, method_costs, method_precond, oracle_cost

    c = method_costs(["identity", "oasis"], H=3, rounds=4, alpha=1e-3, beta=0.9, batch=16,
                     hvp_batch=64)
    np.testing.assert_array_equal(c["oasis"], oracle_cost(method_precond("oasis", 1e-3, 0.9), H=3,
                                                          rounds=4, grad_cost=16, hvp_cost=128))
    np.testing.assert_array_equal(c["identity"], 3 * 16 * np.arange(5.0))
    n_warm = make_precond("oasis").n_warm
    assert cost_numbers(alpha=1e-3, beta=0.9, batch=32) == {
        "ch7_cost_sgd": "32", "ch7_cost_adam": "64", "ch7_cost_oasis": "288",
        "ch7_cost_warm": f"{n_warm * 256}"}


def test_comparison_numbers_and_more_H_text():
    """Counts quoted as "w wins, t ties, l losses (of n)"; the verdicts and p passed through."""
    from twophase.local.digits import Comparison, comparison_numbers, more_H_text

    cmp = Comparison({}, {"rounds": (1, 2, 3, 6), "fam_work": (0, 4, 0, 4)},
                     {"fam_rounds": "a", "fam_work": "b"}, 0.3125, {}, {}, [])
    assert comparison_numbers(cmp) == {
        "ch7_counts_rounds": "1 wins, 2 ties, 3 losses (of 6)",
        "ch7_counts_fam_work": "0 wins, 4 ties, 0 losses (of 4)",
        "ch7_verdict_rounds": "a", "ch7_verdict_work": "b", "ch7_p_acc": "0.31"}
    assert more_H_text({}).startswith("This profile runs a single H")
    mh = {"ch7-more-local-steps-lower-loss": (True, "final train loss at H=20 below H=1 in 75%")}
    assert more_H_text(mh) == "At a fixed number of rounds, the final train loss at H=20 below H=1 in 75%."


def test_eps_numbers():
    """The configuration, the dead-pixel counts and eps_sentences' two texts."""
    from twophase.local.digits import EpsStudy, eps_numbers, eps_sentences

    L = {("default", "adam", "eps"): np.array([0.3, 0.4]),
         ("default", "adam", "clip"): np.array([0.2, 0.5])}
    es = EpsStudy(3, True, {"adam": 0.01}, L, {}, {}, {}, {"adam": 0.03},
                  {"adam": np.array([0.1, 0.6])})
    out = eps_numbers(es, M=4, H=5, split="dirichlet", hidden=32)
    assert out == {"ch7_eps_cfg": "M=4, H=5, dirichlet", "ch7_n_dead": 3, "ch7_n_dead_w": 96,
                   "ch7_eps_base": eps_sentences(es)[0], "ch7_eps_own": eps_sentences(es)[1]}
    assert out["ch7_eps_base"] == "Adam-type worse in 1 of 2 seeds"
