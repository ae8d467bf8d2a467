"""Chapter 7's bookkeeping on known inputs: gradient work of a run, the equal-work comparison,
the family tally, the sign test, and the dead-input diagnosis of the eps rule."""
import math

import numpy as np
import pytest

from twophase.local import make_precond, run_local
from twophase.local.digits import (dead_inputs, digits_problem, equal_cost_finals, family_tally,
                                   oracle_cost, sign_test, win_tie_loss)
from twophase.local.experiments import bias_correction_gap


def test_oracle_cost_counts_local_steps_refreshes_and_warm_start():
    H, R, g, h = 5, 4, 32.0, 256.0
    r = np.arange(R + 1)
    np.testing.assert_array_equal(oracle_cost(make_precond("identity"), H=H, rounds=R, grad_cost=g, hvp_cost=h),
                                  r * H * g)
    # one gradient before round 1, one refresh between consecutive rounds (none after the last)
    np.testing.assert_array_equal(oracle_cost(make_precond("adam"), H=H, rounds=R, grad_cost=g, hvp_cost=h),
                                  g + r * H * g + np.maximum(r - 1, 0) * g)
    np.testing.assert_array_equal(oracle_cost(make_precond("adam"), H=H, rounds=R, grad_cost=g, hvp_cost=h,
                                              stats="last_local"), g + r * H * g)
    oas = make_precond("oasis", n_warm=10)
    np.testing.assert_array_equal(oracle_cost(oas, H=H, rounds=R, grad_cost=g, hvp_cost=h, n_probes=2),
                                  10 * h + r * H * g + np.maximum(r - 1, 0) * 2 * h)


def test_oracle_cost_matches_the_calls_run_local_makes():
    """Count the gradient and HVP calls of a real run (the refresh after the last round is made
    by run_local but not counted: nothing uses it)."""
    prob, x0, _ = digits_problem(2, "iid", 0, hidden=4)
    calls = {"g": 0, "h": 0}
    sg, hv = prob.stoch_grad, prob.hvp

    def count_g(X, rng):
        calls["g"] += 1
        return sg(X, rng)

    def count_h(X, V, rng=None):
        calls["h"] += 1
        return hv(X, V, rng)

    prob.stoch_grad, prob.hvp = count_g, count_h
    pc = make_precond("oasis", alpha=1e-3, n_warm=3)
    run_local(prob, x0, gamma=0.01, H=2, rounds=3, precond=pc, seed=0)
    assert calls == {"g": 2 * 3, "h": 3 + 3}            # warm start 3, refreshes after rounds 1..3
    cost = oracle_cost(pc, H=2, rounds=3, grad_cost=1.0, hvp_cost=1.0)
    assert cost[-1] == calls["g"] + calls["h"] - 1     # minus the unused final refresh


def test_equal_cost_finals_picks_the_last_affordable_round():
    res = {(2, 1, "iid", "identity"): {"loss": np.ones((2, 3))},
           (2, 1, "iid", "adam"): {"loss": np.ones((2, 3))}}
    # adam, H = 1, 2 rounds, batch 32: 32 (init) + 2 * 32 + 1 * 32 = 128 -> Local SGD round 4
    long = {(2, 1, "iid"): {"cost": 32.0 * np.arange(7), "loss": np.arange(14.0).reshape(2, 7)}}
    eq = equal_cost_finals(res, long, rounds=2, alpha=1e-3, beta=0.9, batch=32)
    assert eq[(2, 1, "iid", "adam")]["sgd_rounds"] == 4
    np.testing.assert_array_equal(eq[(2, 1, "iid", "adam")]["sgd_loss"], [4.0, 11.0])


def _res(finals):
    return {k: {"loss": np.column_stack([np.full(len(f), 9.0), f]), "acc": np.column_stack([np.zeros(len(f)), f])}
            for k, f in finals.items()}


def test_family_tally_needs_agreement_of_both_second_moment_rules():
    base = (4, 5, "iid")
    res = _res({(*base, "identity"): [1.0, 1.1], (*base, "rmsprop"): [0.1, 0.11],
                (*base, "adam"): [5.0, 5.1], (*base, "oasis"): [0.2, 0.21]})
    assert win_tie_loss(res, "loss")["rmsprop"] == {"win": 1, "tie": 0, "loss": 0}
    fam = family_tally(res, "loss")
    assert fam["second moment (RMSProp/Adam)"] == {"win": 0, "tie": 1, "loss": 0}   # they disagree
    assert fam["Hessian diagonal (OASIS)"] == {"win": 1, "tie": 0, "loss": 0}


def test_sign_test_exact_values():
    assert sign_test(0, 0) == 1.0
    assert sign_test(20, 0) == 2.0 ** -20
    assert sign_test(3, 5) == pytest.approx(sum(math.comb(8, j) for j in range(3, 9)) / 256)
    assert sign_test(1, 1) == 0.75


def test_bias_correction_gap_below_seven_percent_after_20_refreshes():
    g = bias_correction_gap(0.9, [1, 20])
    np.testing.assert_allclose(g, [1 / np.sqrt(0.1) - 1, 1 / np.sqrt(1 - 0.9 ** 20) - 1], rtol=1e-15)
    assert 0.06 < g[1] < 0.07


def test_dead_inputs_are_zero_in_every_training_image_and_get_only_weight_decay():
    dead = dead_inputs()
    assert dead.size >= 1
    prob, x0, _ = digits_problem(2, "iid", 0, hidden=4)
    assert np.all(prob.a[:, dead] == 0.0)
    X = np.tile(x0, (2, 1))
    g = prob.stoch_grad(X, np.random.default_rng(0)) - prob.weight_decay * X
    idx = np.concatenate([np.arange(i * 4, (i + 1) * 4) for i in dead])
    assert np.all(g[:, idx] == 0.0)
    dropped, _, _ = digits_problem(2, "iid", 0, hidden=4, drop_dead=True)
    assert dropped.a.shape[1] == prob.a.shape[1] - dead.size
