"""The dense oracles (twophase.reference) agree with each other: full covariances vs dense P_B
(no momentum), the dense SLA covariance at zero momentum vs both, and the size refusals."""
import numpy as np
import pytest

from twophase import TwoPhase
from twophase import reference as ref
from twophase import spectra as sp
from helpers import close


@pytest.mark.parametrize("R", [1, 3])
def test_three_dense_oracles_agree_without_momentum(form, R):
    lam = sp.power_law(8, alpha=-1.0)
    m0 = sp.initial_moments(lam, "source", exponent=0.5)
    m = TwoPhase(0.6, nu=1.5, S=3, R=R, B=2)
    a = ref.dense_expected_loss(m, lam, m0, 4, sigma=0.3, form=form)
    b = ref.dense_operator_expected_loss(m, lam, m0, 4, sigma=0.3, form=form)
    c = ref.dense_sla_expected_loss(m, lam, m0, 4, sigma=0.3, form=form)
    close(a, b, "full covariance vs dense P_B", rtol=1e-11)
    close(c, a, "dense SLA covariance at zero momentum vs full covariance", rtol=1e-11)


def test_old_engine_is_kept_verbatim_in_substance(form):
    """The pre-merge engine still equals the dense covariance oracle (so it is a valid oracle)."""
    lam = sp.power_law(10, alpha=-1.2)
    m0 = sp.initial_moments(lam)
    m = TwoPhase(0.4, nu=1.2, S=4, R=2, B=3)
    close(ref.old_expected_loss(m, lam, m0, 5, sigma=0.2, form=form),
          ref.dense_expected_loss(m, lam, m0, 5, sigma=0.2, form=form), "old engine vs dense", rtol=1e-11)


def test_dense_sizes_are_refused_with_an_estimate():
    lam = np.ones(ref.DENSE_MAX_D + 1)
    with pytest.raises(ValueError, match="GB"):
        ref.dense_expected_loss(TwoPhase(0.1), lam, lam / lam.size, 1)
    with pytest.raises(ValueError, match="cycles"):
        ref.dense_expected_loss(TwoPhase(0.1), [1.0], [1.0], 0)


@pytest.mark.parametrize("R", [1, 3])
def test_dense_oracles_agree_with_precond(form, R):
    """With precond = p (no momentum) the two covariance oracles agree (1e-11), and precond = ones
    and precond = c * ones equal None and eta * c (the dense P is the identity / c I)."""
    lam = sp.power_law(6, alpha=-1.0)
    m0 = sp.initial_moments(lam, "source", exponent=0.5)
    p = np.random.default_rng(1).uniform(0.2, 2.0, lam.size)
    m = TwoPhase(0.6, nu=1.5, S=3, R=R, B=2)
    a = ref.dense_expected_loss(m, lam, m0, 4, sigma=0.3, form=form, precond=p)
    c = ref.dense_sla_expected_loss(m, lam, m0, 4, sigma=0.3, form=form, precond=p)
    close(a, c, "full covariance vs dense SLA covariance, precond", rtol=1e-11)
    for f in (ref.dense_expected_loss, ref.dense_sla_expected_loss):
        close(f(m, lam, m0, 4, sigma=0.3, form=form, precond=np.ones(6)), f(m, lam, m0, 4, sigma=0.3, form=form),
              "dense precond = ones vs None")
        close(f(m, lam, m0, 4, sigma=0.3, form=form, precond=np.full(6, 0.5)),
              f(m.replace(eta=0.3), lam, m0, 4, sigma=0.3, form=form), "dense precond = 0.5 vs eta / 2")
