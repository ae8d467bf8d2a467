"""Dense reference implementations, kept to test and benchmark the fast ones.

:func:`dense_expected_loss` propagates full ``D x D`` covariance matrices of
LA-DiLoCo (no momentum) using only the Gaussian fourth-moment identity

    E[(I - eta Ĥ) M (I - eta Ĥ)] = C M C + (eta^2 / B) (H M H + H tr(H M)),

without assuming that the diagonal closes on itself. It costs O(S D^2) per
cycle and D^2 memory: it exists to check :func:`twophase.theory.expected_loss`
(which is O(S D)) and to measure the speed-up in :mod:`twophase.bench`.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from .methods import TwoPhase

__all__ = ["dense_expected_loss"]


def dense_expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact"):
    """Expected loss of LA-DiLoCo from full covariance matrices (reference; scalar eta, nu).

    Worker covariance ``M = E[e_r e_r^T]``, cross-worker ``Q = E[e_r e_r'^T]`` and
    cross-with-start ``X = E[e_r e_0^T]`` evolve over the ``S`` inner steps; the
    outer step gives ``G' = (1-nu)^2 G + nu^2 (M/R + (1-1/R) Q) + nu (1-nu)(X + X^T)``.
    In the ``"hd"`` form the self term ``H M H / B`` is dropped.
    """
    if method.has_momentum or method.grid_shape != ():
        raise ValueError("dense_expected_loss covers scalar eta, nu without momentum")
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    v.choice("form", form, ("exact", "hd"))
    eta, nu, S, R, B = float(method.eta), float(method.nu), method.S, method.R, method.B
    H = np.diag(lam)
    C = np.eye(lam.size) - eta * H
    G = np.diag(m0)
    out = [0.5 * (np.trace(H @ G) + sigma ** 2)]
    for _ in range(cycles):
        M, Q, X = G.copy(), G.copy(), G.copy()
        for _ in range(S):
            noise = (eta ** 2 / B) * (H * (np.trace(H @ M) + sigma ** 2))
            if form == "exact":
                noise = noise + (eta ** 2 / B) * (H @ M @ H)
            M = C @ M @ C + noise
            Q = C @ Q @ C
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
    if method.has_momentum or method.grid_shape != ():
        raise ValueError("dense_operator_expected_loss covers scalar eta, nu without momentum")
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    eta, nu, S, R, B = float(method.eta), float(method.nu), method.S, method.R, method.B
    c = 1.0 - eta * lam
    P = (eta ** 2 / B) * np.outer(lam, lam)
    P[np.diag_indices_from(P)] += c ** 2 + ((eta ** 2 / B) * lam ** 2 if form == "exact" else 0.0)
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
