"""Bad input gives ValueError naming the parameter and the allowed range."""
import numpy as np
import pytest

from twophase.local import (Logistic, Quadratic, check_shards, iid_shards, make_precond,
                            make_quadratic, run_local)


@pytest.fixture
def quad():
    return make_quadratic(5, 3, kappa=10.0, sigma=0.1, rng=0)


@pytest.mark.parametrize("gamma", [0.0, -1.0, float("nan"), float("inf")])
def test_gamma(quad, gamma):
    with pytest.raises(ValueError, match=r"gamma must be .*\(0, inf\)"):
        run_local(quad, np.zeros(5), gamma=gamma, H=2, rounds=2)


@pytest.mark.parametrize("H", [0, -3, 1.5, True, "2"])
def test_H(quad, H):
    with pytest.raises((ValueError, TypeError), match=r"H must be an integer >= 1"):
        run_local(quad, np.zeros(5), gamma=0.1, H=H, rounds=2)


@pytest.mark.parametrize("beta", [0.0, 1.0, -0.2, 1.5])
def test_beta(beta):
    with pytest.raises(ValueError, match=r"beta must lie in the open interval \(0, 1\)"):
        make_precond("adam", beta=beta)


@pytest.mark.parametrize("alpha", [0.0, -1e-3])
def test_alpha(alpha):
    with pytest.raises(ValueError, match=r"alpha must be .*\(0, inf\)"):
        make_precond("oasis", alpha=alpha)


def test_unknown_preconditioner(quad):
    with pytest.raises(ValueError, match=r"name \(preconditioner\) must be one of 'identity', 'rmsprop', 'adam', 'oasis'"):
        make_precond("adagrad")
    with pytest.raises(ValueError, match="preconditioner"):
        run_local(quad, np.zeros(5), gamma=0.1, H=2, rounds=2, precond="sgd")


def test_unknown_options(quad):
    with pytest.raises(ValueError, match="stats must be one of"):
        run_local(quad, np.zeros(5), gamma=0.1, H=2, rounds=2, stats="somewhere")
    with pytest.raises(ValueError, match="mode must be one of"):
        run_local(quad, np.zeros(5), gamma=0.1, H=2, rounds=2, mode="fancy")
    with pytest.raises(ValueError, match="positivity must be one of"):
        make_precond("oasis", positivity="abs")


def test_M():
    with pytest.raises(ValueError, match=r"M must be an integer >= 1"):
        make_quadratic(5, 0)
    with pytest.raises(ValueError, match=r"M must be an integer >= 1"):
        iid_shards(10, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"M \(number of workers\) must be an integer >= 1"):
        Quadratic(np.eye(3), np.zeros((0, 3)))


def test_shards_must_partition():
    n = 6
    with pytest.raises(ValueError, match=r"shards must partition the data: index 2 belongs to more"):
        check_shards([[0, 1, 2], [2, 3, 4, 5]], n)
    with pytest.raises(ValueError, match=r"shards must partition the data: index 5 .* is in no shard"):
        check_shards([[0, 1, 2], [3, 4]], n)
    with pytest.raises(ValueError, match=r"shards\[1\] has indices outside the allowed range \[0, 5\]"):
        check_shards([[0, 1, 2], [3, 4, 5, 6]], n)
    with pytest.raises(ValueError, match=r"shards\[0\] is empty"):
        check_shards([[], [0, 1, 2, 3, 4, 5]], n)
    a = np.random.default_rng(0).standard_normal((6, 2))
    y = np.array([1.0, -1, 1, -1, 1, -1])
    with pytest.raises(ValueError, match="shards must partition"):
        Logistic(a, y, [[0, 1, 2], [3, 4]])


def test_partition_ok():
    sh = iid_shards(11, 3, np.random.default_rng(0))
    assert sorted(np.concatenate(sh).tolist()) == list(range(11))
    check_shards(sh, 11)
