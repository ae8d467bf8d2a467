"""TwoPhase validation: every bad field gives a ValueError naming it."""
import numpy as np
import pytest

from twophase import SGD, TwoPhase


def test_sgd_is_degenerate_two_phase():
    m = SGD(0.3, B=4)
    assert (m.eta, m.nu, m.S, m.R, m.B, m.B_tot) == (0.3, 1.0, 1, 1, 4, 4)


def test_immutable():
    m = TwoPhase(0.1)
    with pytest.raises(Exception):
        m.eta = 0.2


def test_grids_broadcast():
    m = TwoPhase(np.linspace(0.1, 1, 5)[:, None], nu=np.linspace(0.5, 2, 3))
    assert m.grid_shape == (5, 3)


@pytest.mark.parametrize("kwargs, name", [
    (dict(eta=0.0), "eta"),
    (dict(eta=-1.0), "eta"),
    (dict(eta=np.nan), "eta"),
    (dict(eta=np.inf), "eta"),
    (dict(eta=0.1, nu=np.inf), "nu"),
    (dict(eta=0.1, nu=np.nan), "nu"),
    (dict(eta=0.1, S=0), "S"),
    (dict(eta=0.1, S=2.5), "S"),
    (dict(eta=0.1, R=0), "R"),
    (dict(eta=0.1, R="2"), "R"),
    (dict(eta=0.1, B=-3), "B"),
    (dict(eta=0.1, B=True), "B"),
    (dict(eta=0.1, beta_in=1.0), "beta_in"),
    (dict(eta=0.1, beta_in=-0.1), "beta_in"),
    (dict(eta=0.1, beta_out=1.2), "beta_out"),
    (dict(eta=0.1, outer="adam"), "outer"),
    (dict(eta=0.1, inner_momentum="keep"), "inner_momentum"),
    (dict(eta=np.ones(3), nu=np.ones(4)), "broadcast"),
])
def test_bad_fields(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TwoPhase(**kwargs)


def test_error_message_states_range():
    with pytest.raises(ValueError, match=r"beta_out must be a scalar in \[0, 1\)"):
        TwoPhase(0.1, beta_out=1.0)
