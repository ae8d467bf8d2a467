"""Dense reference implementations (test oracles and benchmark baselines) -- all of them.

Owns every slow, independent implementation the fast engine is checked or timed against:

* :func:`dense_expected_loss` propagates full ``D x D`` covariance matrices of LA-DiLoCo (no
  momentum) using only the Gaussian fourth-moment identity
  ``E[(I - eta Ĥ) M (I - eta Ĥ)] = C M C + (eta^2 / B) (H M H + H tr(H M))``, without assuming
  that the diagonal closes on itself: O(S D^2) per cycle and D^2 memory;
* :func:`dense_operator_expected_loss`, the LA-DiLoCo moment recursion with ``P_B`` stored as a
  dense matrix (the speed baseline of :mod:`twophase.bench`);
* :func:`dense_sla_expected_loss`, the full covariance of ``(e_0, v, e^1, u^1, ..., e^R, u^R)``
  over all modes for stacked momentum (no exchangeability, no assumed closure);
* both covariance references take ``precond=p``, a diagonal preconditioner of the local steps
  (``theta <- theta - eta P g``, ``P = diag(p)``, buffer ``u`` accumulating ``g`` and the step
  ``-eta P u``; outer step unpreconditioned), written as the ``D x D`` matrix ``P`` and
  propagated without using that ``P`` is diagonal: the oracle of the engine's ``precond``;
* :func:`old_expected_loss`, the one-number-per-mode LA-DiLoCo engine as it was before the
  engines were merged into :mod:`twophase.engine` (kept until the switch is proven; the tests
  and the benchmark compare the two).

Dense sizes are refused above ``D = DENSE_MAX_D`` with a memory estimate.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.engine` (for the dense ``P_B`` only).
"""
from __future__ import annotations

import numpy as np

from . import _base
from . import _validate as v
from ._base import check_method, check_precond, check_problem
from .engine import _sgd_operator_dense
from .methods import TwoPhase

__all__ = ["dense_expected_loss", "dense_operator_expected_loss", "dense_sla_expected_loss",
           "old_expected_loss", "DENSE_MAX_D"]

#: Largest ``D`` the dense references accept (a D x D float64 matrix is 134 MB at D = 4096).
DENSE_MAX_D = 4096


def _check_dense(method, lam, m0, cycles, sigma, form, *, momentum_ok=False, n_blocks=1):
    method = check_method(method, scalar=True, what="a dense reference")
    if method.has_momentum and not momentum_ok:
        raise ValueError("this dense reference covers methods without momentum (allowed: beta_in = "
                         "beta_out = 0); use dense_sla_expected_loss")
    cycles = v.positive_int("cycles", cycles)
    lam, m0, sigma = check_problem(lam, m0, sigma, form)
    n = n_blocks * lam.size
    if lam.size > DENSE_MAX_D or n * n > v.MAX_ENTRIES:
        raise ValueError(f"D = {lam.size} is too large for a dense reference: it needs {n} x {n} matrices "
                         f"({8.0 * n * n / 1e9:.3g} GB each); the allowed range is D <= {DENSE_MAX_D} "
                         f"(and (blocks * D)^2 <= {v.MAX_ENTRIES:,}). Use twophase.theory.expected_loss")
    return method, cycles, lam, m0, sigma


def _dense_precond(precond, D):
    """The preconditioner as a dense ``D x D`` matrix ``P`` (identity for ``None``)."""
    p = check_precond(precond, D)
    return np.eye(D) if p is None else np.diag(p)


def dense_expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact",
                        precond=None):
    """Expected loss of LA-DiLoCo from full covariance matrices (reference; scalar eta, nu).

    Worker covariance ``M = E[e_r e_r^T]``, cross-worker ``Q = E[e_r e_r'^T]`` and
    cross-with-start ``X = E[e_r e_0^T]`` evolve over the ``S`` inner steps; the
    outer step gives ``G' = (1-nu)^2 G + nu^2 (M/R + (1-1/R) Q) + nu (1-nu)(X + X^T)``.
    In the ``"hd"`` form the self term ``H M H / B`` is dropped. With ``precond = p`` an
    inner step is ``e <- (I - eta P Ĥ) e + eta P (noise)``, so ``C = I - eta P H`` and the
    minibatch noise is ``eta^2 P (H tr(H M) + sigma^2 H [+ H M H]) P / B``.
    """
    method, cycles, lam, m0, sigma = _check_dense(method, lam, m0, cycles, sigma, form)
    eta, nu, S, R, B = float(method.eta), float(method.nu), method.S, method.R, method.B
    P = _dense_precond(precond, lam.size)
    H = np.diag(lam)
    C = np.eye(lam.size) - eta * P @ H
    G = np.diag(m0)
    out = [0.5 * (np.trace(H @ G) + sigma ** 2)]
    for _ in range(cycles):
        M, Q, X = G.copy(), G.copy(), G.copy()
        for _ in range(S):
            K = H * (np.trace(H @ M) + sigma ** 2)
            if form == "exact":
                K = K + H @ M @ H
            M = C @ M @ C.T + (eta ** 2 / B) * (P @ K @ P.T)
            Q = C @ Q @ C.T
            X = C @ X
        G = (1 - nu) ** 2 * G + nu ** 2 * (M / R + (1 - 1 / R) * Q) + nu * (1 - nu) * (X + X.T)
        out.append(0.5 * (np.trace(H @ G) + sigma ** 2))
    return np.array(out)


def dense_operator_expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0,
                                 form: str = "exact"):
    """The LA-DiLoCo moment recursion with ``P_B`` stored as a dense ``D x D`` matrix.

    This is what a direct transcription of ``g' = T_R g + sigma^2 b`` costs:
    O(D^2) memory and O(S D^2) time per cycle. Used as the speed baseline.
    """
    method, cycles, lam, m0, sigma = _check_dense(method, lam, m0, cycles, sigma, form)
    eta, nu, S, R, B = float(method.eta), float(method.nu), method.S, method.R, method.B
    c = 1.0 - eta * lam
    P = _sgd_operator_dense(lam, eta, B, form)
    drive = sigma ** 2 * eta ** 2 * lam / B
    g = m0.copy()
    out = [0.5 * (lam @ g + sigma ** 2)]
    for _ in range(cycles):
        m = g.copy()
        for _ in range(S):
            m = P @ m + drive
        g = (1 - nu * (1 - c ** S)) ** 2 * g + (nu ** 2 / R) * (m - c ** (2 * S) * g)
        out.append(0.5 * (lam @ g + sigma ** 2))
    return np.array(out)


def dense_sla_expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact",
                            precond=None):
    """Expected loss of SLA from the full covariance of ``(e_0, v, e^1, u^1, ..., e^R, u^R)``.

    Independent of :mod:`twophase.engine`: all ``D`` modes and all ``R`` workers are kept
    (no exchangeability, no assumed diagonal closure); each worker's minibatch noise has the
    covariance given by the Gaussian fourth-moment identity. EMA outer convention. Scalar
    ``eta``, ``nu``; any momentum (or none). Costs O(S ((2 + 2R) D)^3) per cycle.
    ``precond = p``: the inner step is ``u <- beta_in u + Ĥ e + noise; e <- e - eta P u`` with the
    dense matrix ``P = diag(p)`` (the outer step is not preconditioned).
    """
    method, cycles, lam, m0, sigma = _check_dense(method, lam, m0, cycles, sigma, form, momentum_ok=True,
                                                  n_blocks=2 + 2 * method.R if isinstance(method, TwoPhase) else 1)
    D, R, S, B = lam.size, method.R, method.S, method.B
    eta, nu, bi, bo = float(method.eta), float(method.nu), method.beta_in, method.beta_out
    P = _dense_precond(precond, D)
    n = (2 + 2 * R) * D
    H = np.diag(lam)
    eye = np.eye(D)

    def blk(k):  # slice of variable k: 0 = e0, 1 = v, 2 + 2r = e^r, 3 + 2r = u^r
        return slice(k * D, (k + 1) * D)

    cov = np.zeros((n, n))
    cov[blk(0), blk(0)] = np.diag(m0)
    start = np.eye(n)  # cycle start: e^r <- e_0; buffers zeroed (reset) or kept (carry)
    for r in range(R):
        start[blk(2 + 2 * r), :] = 0.0
        start[blk(2 + 2 * r), blk(0)] = eye
        if method.inner_momentum == "reset":
            start[blk(3 + 2 * r), :] = 0.0
    step = np.eye(n)  # one inner step: u <- bi u + H e + zeta ; e <- e - eta P u
    for r in range(R):
        e, u = blk(2 + 2 * r), blk(3 + 2 * r)
        step[u, :] = 0.0
        step[u, u] = bi * eye
        step[u, e] = H
        step[e, :] = 0.0
        step[e, e] = eye - eta * P @ H
        step[e, u] = -eta * bi * P
    outer = np.eye(n)  # outer step on (e0, v, ebar), EMA convention
    delta = np.zeros((D, n))
    delta[:, blk(0)] = eye
    for r in range(R):
        delta[:, blk(2 + 2 * r)] -= eye / R
    vnew = bo * np.eye(n)[blk(1), :] + (1 - bo) * delta
    if method.outer == "nesterov":
        e0new = np.eye(n)[blk(0), :] - nu * (bo * vnew + (1 - bo) * delta)
    else:
        e0new = np.eye(n)[blk(0), :] - nu * vnew
    outer[blk(0), :] = e0new
    outer[blk(1), :] = vnew
    out = [0.5 * (np.trace(H @ cov[blk(0), blk(0)]) + sigma ** 2)]
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(cycles):
            cov = start @ cov @ start.T
            for _ in range(S):
                noise = np.zeros((n, n))
                for r in range(R):
                    e, u = blk(2 + 2 * r), blk(3 + 2 * r)
                    M = cov[e, e]
                    K = (H * (np.trace(H @ M) + sigma ** 2)) / B
                    if form == "exact":
                        K = K + H @ M @ H / B
                    noise[e, e] += eta ** 2 * P @ K @ P.T
                    noise[e, u] += -eta * P @ K
                    noise[u, e] += -eta * K @ P.T
                    noise[u, u] += K
                cov = step @ cov @ step.T + noise
            cov = outer @ cov @ outer.T
            out.append(0.5 * (np.trace(H @ cov[blk(0), blk(0)]) + sigma ** 2))
    return np.array(out)


# --------------------------------------------------------------------------- the old engine
def _old_sgd_step_moments(m, lam, eta, B, sigma, form):
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    c2 = (1.0 - eta * lam) ** 2
    feedback = np.sum(lam * m, axis=-1, keepdims=True)
    out = c2 * m + (eta ** 2 / B) * (lam * feedback + sigma ** 2 * lam)
    if form == "exact":
        out = out + (eta ** 2 / B) * lam ** 2 * m
    return out


def _old_inner_phase(m, lam, eta, S, B, sigma, form):
    mS = m
    for _ in range(S):
        mS = _old_sgd_step_moments(mS, lam, eta, B, sigma, form)
    eta = np.asarray(eta, dtype=np.float64)[..., None]
    return mS, (1.0 - eta * lam) ** S


def _old_cycle(g, lam, method, sigma, form, eta, nu):
    mS, cS = _old_inner_phase(g, lam, eta, method.S, method.B, sigma, form)
    nu = np.asarray(nu, dtype=np.float64)[..., None]
    signal = (1.0 - nu * (1.0 - cS)) ** 2 * g
    noise = (nu ** 2 / method.R) * (mS - cS ** 2 * g)
    return signal + noise


def _old_first_cycle_loss(m0, lam, method, sigma, form):
    eta = np.asarray(method.eta, dtype=np.float64)
    nu = np.asarray(method.nu, dtype=np.float64)
    mS, cS = _old_inner_phase(m0, lam, eta, method.S, method.B, sigma, form)
    h = 1.0 - cS
    lam_m = lam * m0
    A0 = lam @ m0
    A1 = h @ lam_m
    A2 = (h ** 2) @ lam_m
    N = (mS - cS ** 2 * m0) @ lam
    loss = 0.5 * (A0 - 2 * nu * A1 + nu ** 2 * (A2 + N / method.R) + sigma ** 2)
    return np.broadcast_to(loss, method.grid_shape)


def old_expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact"):
    """The no-momentum engine as it was before the merge (oracle for :mod:`twophase.engine`).

    Same contract as :func:`twophase.theory.expected_loss` for methods without momentum
    (``eta``, ``nu`` may be broadcasting grids); kept verbatim in substance, including its
    first-cycle quadratic in ``nu`` and its extra full first cycle when ``cycles > 1``.
    """
    method = check_method(method)
    if method.has_momentum:
        raise ValueError("old_expected_loss covers methods without momentum (allowed: beta_in = beta_out = 0)")
    cycles = v.positive_int("cycles", cycles)
    lam, m0, sigma = check_problem(lam, m0, sigma, form)
    v.array_size("the (eta, nu) grid", float(np.prod(method.grid_shape)) * lam.size, "the old engine's state")
    shape, eta, nu = _base.grid_arrays(method)
    L0 = 0.5 * (lam @ m0 + sigma ** 2)
    limit = _base.divergence_limit(L0)
    out = np.empty(shape + (cycles + 1,))
    out[..., 0] = L0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out[..., 1] = _old_first_cycle_loss(m0, lam, method, sigma, form)
        diverged = ~np.isfinite(out[..., 1]) | (out[..., 1] > limit)
        if cycles > 1:
            g = _old_cycle(np.broadcast_to(m0, shape + m0.shape), lam, method, sigma, form, eta, nu)
            g = np.where(diverged[..., None], 0.0, g)
        for t in range(2, cycles + 1):
            g = _old_cycle(g, lam, method, sigma, form, eta, nu)
            loss = 0.5 * (g @ lam + sigma ** 2)
            diverged = diverged | ~np.isfinite(loss) | (loss > limit)
            out[..., t] = loss
            if np.any(diverged):
                g = np.where(diverged[..., None], 0.0, g)
        _base.mark_divergence(out, limit)
    return out
