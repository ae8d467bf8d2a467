"""Preconditioners on hand-checked cases, and Hutchinson's estimator."""
import itertools

import numpy as np
import pytest

from twophase.local import make_precond, make_quadratic, rademacher


def test_identity_is_ones_and_ignores_stats():
    pc = make_precond("identity")
    s = pc.init((3,))
    s = pc.update(s, np.array([5.0, 6.0, 7.0]))
    assert np.array_equal(pc.dhat(s), np.ones(3))
    assert pc.needs == "none"


def test_rmsprop_hand_checked():
    pc = make_precond("rmsprop", beta=0.5, positivity="eps", eps=1e-8)
    s = pc.init((2,))
    s = pc.update(s, np.array([4.0, 16.0]))        # v = 0.5*[4,16] = [2, 8]
    np.testing.assert_allclose(s.D, [2.0, 8.0], rtol=0, atol=0)
    np.testing.assert_allclose(pc.dhat(s), [np.sqrt(2.0) + 1e-8, np.sqrt(8.0) + 1e-8], rtol=1e-15)
    s = pc.update(s, np.array([0.0, 8.0]))         # v = [1, 8]
    np.testing.assert_allclose(pc.dhat(s), [1.0 + 1e-8, np.sqrt(8.0) + 1e-8], rtol=1e-15)


def test_adam_bias_correction_hand_checked():
    pc = make_precond("adam", beta=0.5, positivity="eps", eps=1e-8)
    s = pc.update(pc.init((2,)), np.array([4.0, 16.0]))
    # v = [2, 8], bias correction 1 - 0.5 = 0.5 -> vhat = [4, 16] -> D = [2, 4]
    np.testing.assert_allclose(pc.dhat(s), [2.0 + 1e-8, 4.0 + 1e-8], rtol=1e-15)
    s = pc.update(s, np.array([1.0, 1.0]))
    # v = [1.5, 4.5], 1 - 0.25 = 0.75 -> vhat = [2, 6]
    np.testing.assert_allclose(pc.dhat(s), [np.sqrt(2.0) + 1e-8, np.sqrt(6.0) + 1e-8], rtol=1e-14)
    with pytest.raises(ValueError, match="count"):
        pc.dhat(pc.init((2,)))


def test_adam_constant_stat_gives_exact_scale():
    # with a constant statistic, bias-corrected v equals it after any number of refreshes
    pc = make_precond("adam", beta=0.9, positivity="clip", alpha=1e-3)
    s = pc.init((3,))
    for p in range(1, 30):
        s = pc.update(s, np.array([9.0, 1e-8, 0.25]))
        np.testing.assert_allclose(pc.dhat(s), [3.0, 1e-3, 0.5], rtol=1e-12)


def test_oasis_warm_start_update_and_clip():
    pc = make_precond("oasis", beta=0.75, alpha=0.01)
    assert pc.positivity == "clip"
    s = pc.warm_start(np.array([[2.0, -4.0, 0.0], [4.0, -2.0, 0.002]]))
    np.testing.assert_allclose(s.D, [3.0, -3.0, 0.001])
    np.testing.assert_allclose(pc.dhat(s), [3.0, 3.0, 0.01])
    s = pc.update(s, np.array([7.0, 1.0, 0.001]))   # 0.75*D + 0.25*stat
    np.testing.assert_allclose(s.D, [4.0, -2.0, 0.001], rtol=1e-15)
    np.testing.assert_allclose(pc.dhat(s), [4.0, 2.0, 0.01])
    pe = make_precond("oasis", beta=0.75, positivity="eps", eps=0.5)
    np.testing.assert_allclose(pe.dhat(s), [4.5, 2.5, 0.501])
    with pytest.raises(ValueError, match="oasis"):
        make_precond("adam").warm_start(np.ones((2, 3)))


def test_hutchinson_exact_over_all_sign_vectors():
    # E[z * Hz] = diag(H); averaging over all 2^d sign vectors is exact
    Hm = np.array([[2.0, 1.0, -0.5], [1.0, 3.0, 0.25], [-0.5, 0.25, 1.0]])
    # hand check one probe: z = (1, -1, 1): Hz = (0.5, -1.75, 0.25); z*Hz = (0.5, 1.75, 0.25)
    z = np.array([1.0, -1.0, 1.0])
    np.testing.assert_allclose(z * (Hm @ z), [0.5, 1.75, 0.25])
    acc = np.zeros(3)
    for signs in itertools.product([-1.0, 1.0], repeat=3):
        z = np.array(signs)
        acc += z * (Hm @ z)
    np.testing.assert_allclose(acc / 8, np.diag(Hm), rtol=1e-15)


def test_hutchinson_mean_within_standard_errors():
    # Var[(z*Az)_i] = sum_{j != i} A_ij^2 ; check every coordinate within k=5 SE
    q = make_quadratic(30, 1, kappa=100.0, rng=3)
    A = q.hessian
    rng = np.random.default_rng(0)
    n = 4000
    Z = rademacher(rng, (n, 30))
    est = Z * (Z @ A)
    mean = est.mean(axis=0)
    se = np.sqrt((np.sum(A ** 2, axis=1) - np.diag(A) ** 2) / n)
    k = 5.0
    dev = np.abs(mean - np.diag(A))
    assert np.all(dev <= k * se), f"max |mean-diag|/SE = {np.max(dev / se):.2f} > {k}"


def test_rademacher_values():
    z = rademacher(np.random.default_rng(1), (1000,))
    assert set(np.unique(z)) == {-1.0, 1.0}
    assert abs(z.mean()) < 5 / np.sqrt(1000)
