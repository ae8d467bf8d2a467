"""Shared base of the Part I numerics: forms, the divergence rule, the loss loop, grids, checks.

Owns:

* :data:`FORMS` -- the two forms of the moment equations (``"exact"`` keeps the self term
  ``lam_i^2 m_i / B`` of the Gaussian fourth-moment identity, ``"hd"`` drops it);
* the divergence rule (:data:`DIVERGENCE_FACTOR`, :func:`divergence_limit`,
  :func:`mark_divergence`): a run is diverged from the first step whose loss exceeds
  ``DIVERGENCE_FACTOR`` times its initial loss or stops being finite, and reports ``inf`` from
  there on -- the same rule for the exact theory and for Monte-Carlo;
* :func:`loss_loop`, the one loop that advances a state cycle by cycle, records the loss,
  applies the divergence rule and freezes diverged runs so they cannot overflow further;
* grid broadcasting (:func:`grid_arrays`) and the checks of a method, a problem and a diagonal
  preconditioner (:func:`check_precond`).

May import: :mod:`twophase._validate`, :mod:`twophase.methods`.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from .methods import TwoPhase

FORMS = ("exact", "hd")

#: A run is declared diverged once its loss exceeds ``DIVERGENCE_FACTOR`` times
#: its initial loss (or stops being finite). From that step on it reports inf.
DIVERGENCE_FACTOR = 1e20


def check_method(method, *, scalar: bool = False, what: str = "") -> TwoPhase:
    """``method`` must be a :class:`~twophase.TwoPhase` (with scalar ``eta``, ``nu`` if ``scalar``)."""
    if not isinstance(method, TwoPhase):
        raise v.ArgumentTypeError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    if scalar and method.grid_shape != ():
        raise ValueError(f"{what or 'this function'} needs scalar eta and nu (allowed: grid shape ()), "
                         f"got grid shape {method.grid_shape}")
    return method


def check_form(form) -> str:
    return v.choice("form", form, FORMS)


def check_problem(lam, m0, sigma, form):
    """Validated ``(lam, m0, sigma)`` of a linear-regression problem; ``form`` in :data:`FORMS`."""
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    sigma = v.nonnegative_real("sigma", sigma)
    check_form(form)
    return lam, m0, sigma


def check_precond(precond, D: int):
    """``None`` or a diagonal preconditioner: a float64 array ``p`` of shape ``(D,)``, finite, > 0.

    Local (inner) steps are ``theta <- theta - eta * p * g`` (with inner momentum the buffer
    accumulates ``g`` and the step is ``-eta * p * u``); outer steps are not preconditioned.
    """
    if precond is None:
        return None
    p = v.real_array("precond", precond)
    if p.shape != (D,):
        raise ValueError(f"precond must be None or an array of shape ({D},) to match lam, got shape {p.shape}")
    if not np.all(p > 0):
        raise ValueError(f"precond must be > 0 in every mode (allowed range (0, inf)), got min {p.min()!r}")
    return p


def step_sizes(eta_c, precond):
    """Per-mode inner step ``eta * p`` (``eta_c`` of shape ``(..., 1)``); ``eta_c`` itself if ``p is None``."""
    return eta_c if precond is None else eta_c * precond


def grid_arrays(method: TwoPhase):
    """``(shape, eta, nu)``: the grid shape and ``eta``, ``nu`` broadcast to it (read-only views)."""
    shape = method.grid_shape
    eta = np.broadcast_to(np.asarray(method.eta, dtype=np.float64), shape)
    nu = np.broadcast_to(np.asarray(method.nu, dtype=np.float64), shape)
    return shape, eta, nu


def grid_size(method: TwoPhase) -> int:
    return int(np.prod(method.grid_shape, dtype=np.int64))


def divergence_limit(L0: float) -> float:
    """The loss above which a run started at loss ``L0`` counts as diverged."""
    return DIVERGENCE_FACTOR * max(float(L0), np.finfo(float).tiny)


def mark_divergence(out, limit):
    """In place: ``inf`` from the first step (last axis) whose loss is non-finite or above ``limit``."""
    bad = ~np.isfinite(out) | (out > limit)
    out[np.cumsum(bad, axis=-1) > 0] = np.inf
    return out


def loss_loop(state, step, loss_of, freeze, cycles: int, L0: float, out):
    """Advance ``state`` by ``cycles`` calls of ``step`` and record the loss in ``out``.

    ``out`` has shape ``batch + (cycles + 1,)`` with ``out[..., 0]`` already filled;
    ``loss_of(state)`` returns the loss (shape ``batch``) and ``freeze(state, diverged)``
    returns the state with the diverged runs set to zero. Applies the divergence rule
    (:func:`mark_divergence`) with the limit of :func:`divergence_limit` ``(L0)`` and emits no
    floating-point warnings. Returns ``out``.
    """
    limit = divergence_limit(L0)
    diverged = np.zeros(out.shape[:-1], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(1, cycles + 1):
            state = step(state)
            loss = loss_of(state)
            diverged |= ~np.isfinite(loss) | (loss > limit)
            out[..., t] = loss
            if diverged.any():
                state = freeze(state, diverged)
        mark_divergence(out, limit)
    return out
