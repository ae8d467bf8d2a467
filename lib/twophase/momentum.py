"""Stacked momentum (SLA): conventions and noiseless per-mode tools.

Algorithm (``two-phase-theory.md`` §2, :cite:`agarwala2026twophase`)
--------------------------------------------------------------------
Every worker ``r = 1..R`` starts a cycle at the global iterate and runs ``S``
heavy-ball steps on fresh batches of size ``B``::

    u^r <- beta_in u^r + g^r,      theta^r <- theta^r - eta u^r

with the buffer ``u^r`` either reset to zero at the start of each cycle
(``inner_momentum="reset"``, the *reduced system*) or carried over from the
previous cycle (``"carry"``, the *full dynamics*). The pseudo-gradient
``Delta = theta - mean_r theta^r`` then drives the outer step.

Outer-momentum convention (EMA, used everywhere in this package)
-----------------------------------------------------------------
::

    v <- b v + (1 - b) Delta                                (b = beta_out)
    heavy ball:  theta <- theta - nu v
    Nesterov:    theta <- theta - nu (b v + (1 - b) Delta)   (v already updated)

The PyTorch / optax convention keeps an un-normalised buffer ``w <- b w + Delta``
and steps ``theta <- theta - nu_pt w`` (heavy ball) or
``theta <- theta - nu_pt (b w + Delta)`` (Nesterov). Both produce *identical
iterates* when

    nu_pt = (1 - b) nu,        w = v / (1 - b)        (buffers start at zero)

because ``(1 - b) w`` obeys the EMA recursion. :func:`to_pytorch` and
:func:`from_pytorch` convert. With ``b = 0`` both reduce to
``theta <- theta - nu Delta`` (LA-DiLoCo).

Why EMA. For one eigenmode with effective eigenvalue ``h`` (``Delta = h e_0``)
the Nesterov cycle map on ``(e_0, w)`` in PyTorch coordinates is
``[[1 - nu_pt h (1 + b), -nu_pt b^2], [h, b]]``: trace ``(1 + b)(1 - nu_pt h)``,
determinant ``b (1 - nu_pt h)``. Both eigenvalues vanish exactly when
``nu_pt h = 1``. Modes damped by the inner phase have ``h ~ 1``, so the
critical outer rate is ``nu_pt = 1``, i.e. ``nu = 1 / (1 - beta_out)`` in the
EMA convention -- the value quoted by the paper's Figure 3. Heavy ball instead
has determinant ``b`` for every ``nu``, so its cycle contracts at best by
``sqrt(b)`` and its per-step rate ``rho^{1/S} >= b^{1/(2S)}`` tends to 1 as
``S`` grows.

Second moments
--------------
The exact second-moment dynamics of SLA (13 numbers per mode) are part of the one moment
engine, :mod:`twophase.engine`; this module keeps the conventions and the *noiseless*
per-mode tools.

Owns: the outer-momentum conventions (:func:`to_pytorch`, :func:`from_pytorch`, the buffer
conversions, :func:`critical_nu`) and the noiseless per-mode cycle map and its radius
(:func:`noiseless_cycle_map`, :func:`noiseless_radius`, :func:`per_step_rate`). Chapter 4's
tuning and verdicts are in :mod:`twophase.experiments.momentum`.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.engine`.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from ._base import check_method, check_precond
from .engine import _inner_matrix_power, _outer_coefficients
from .methods import TwoPhase

__all__ = [
    "CONVENTIONS",
    "to_pytorch",
    "from_pytorch",
    "buffer_to_pytorch",
    "buffer_from_pytorch",
    "critical_nu",
    "noiseless_cycle_map",
    "noiseless_radius",
    "per_step_rate",
]

#: Outer-momentum parameterisations: ``"ema"`` (this package) and ``"pytorch"`` (also optax).
CONVENTIONS = ("ema", "pytorch")


# --------------------------------------------------------------------------- conventions
def to_pytorch(nu, beta_out):
    """EMA outer rate ``nu`` -> PyTorch/optax rate ``nu_pt = (1 - beta_out) nu``.

    The buffer converts as ``w = v / (1 - beta_out)`` (:func:`buffer_to_pytorch`);
    with both buffers starting at zero the iterates are identical.

    Examples
    --------
    >>> to_pytorch(2.0, 0.5)
    1.0
    """
    b = v.unit_interval("beta_out", beta_out)
    nu = v.positive_real("nu", nu, allow_array=True)
    return nu * (1.0 - b) if np.ndim(nu) else float(nu) * (1.0 - b)


def from_pytorch(nu_pt, beta_out):
    """PyTorch/optax outer rate ``nu_pt`` -> EMA rate ``nu = nu_pt / (1 - beta_out)``."""
    b = v.unit_interval("beta_out", beta_out)
    nu_pt = v.positive_real("nu_pt", nu_pt, allow_array=True)
    return nu_pt / (1.0 - b) if np.ndim(nu_pt) else float(nu_pt) / (1.0 - b)


def buffer_to_pytorch(buf, beta_out):
    """EMA buffer ``v`` -> PyTorch buffer ``w = v / (1 - beta_out)``."""
    b = v.unit_interval("beta_out", beta_out)
    return v.real_array("buf", buf) / (1.0 - b)


def buffer_from_pytorch(w, beta_out):
    """PyTorch buffer ``w`` -> EMA buffer ``v = (1 - beta_out) w``."""
    b = v.unit_interval("beta_out", beta_out)
    return v.real_array("w", w) * (1.0 - b)


def critical_nu(beta_out, h=1.0, convention="ema"):
    """Outer rate at which the Nesterov cycle map of a mode with effective
    eigenvalue ``h`` is nilpotent (both eigenvalues zero): ``nu_pt h = 1``.

    EMA: ``nu = 1 / ((1 - beta_out) h)``; PyTorch: ``nu_pt = 1 / h``. For modes
    damped by the inner phase (``h ~ 1``) the EMA value is ``1 / (1 - beta_out)``.
    """
    b = v.unit_interval("beta_out", beta_out)
    v.choice("convention", convention, CONVENTIONS)
    h = v.real_array("h", h)
    if np.any(h < 0):
        raise ValueError("h must be >= 0 (an effective eigenvalue; allowed range [0, inf))")
    with np.errstate(divide="ignore"):
        nu_pt = 1.0 / h
    out = nu_pt / (1.0 - b) if convention == "ema" else nu_pt
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- per-mode tools
def _check_method(method):
    return check_method(method)


def noiseless_cycle_map(method: TwoPhase, lam, precond=None):
    """Deterministic (noiseless) cycle map of each eigenmode, EMA coordinates.

    Reset: a 2 x 2 map on ``(e_0, v)``; carry: 3 x 3 on ``(e_0, v, u)`` where
    ``u`` is the (common) inner buffer at the start of the cycle. ``R`` does not
    matter without noise. In PyTorch coordinates ``(e_0, w = v / (1 - b))`` the
    map is conjugated by ``diag(1, 1 - b)``: same eigenvalues. ``precond = p`` (shape
    ``(D,)``, > 0): the inner steps of mode ``i`` are ``eta p_i`` (the outer step is not
    preconditioned), as in :func:`twophase.engine.expected_loss`.

    Returns shape ``grid_shape + (D, n, n)``.
    """
    method = _check_method(method)
    lam = v.eigenvalues(lam)
    precond = check_precond(precond, lam.size)
    v.array_size("lam", 9.0 * float(np.prod(method.grid_shape)) * lam.size, "the per-mode cycle maps")
    eta = np.asarray(method.eta, dtype=np.float64)[..., None]
    if precond is not None:
        eta = eta * precond
    nu = np.broadcast_to(np.asarray(method.nu, dtype=np.float64), method.grid_shape)[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        MS = _inner_matrix_power(lam, eta, method.beta_in, method.S)
    (a0, av, ae), (b0, bv, be) = _outer_coefficients(nu, method.beta_out, method.outer)
    shape = np.broadcast_shapes(MS.shape[:-2], nu.shape)
    carry = method.inner_momentum == "carry"
    n = 3 if carry else 2
    # Pre-outer linear map from the cycle-start state to (e_0, v, ebar[, u_S]).
    pre = np.zeros(shape + (4 if carry else 3, n))
    pre[..., 0, 0] = 1.0
    pre[..., 1, 1] = 1.0
    pre[..., 2, 0] = MS[..., 0, 0]
    if carry:
        pre[..., 2, 2] = MS[..., 0, 1]
        pre[..., 3, 0] = MS[..., 1, 0]
        pre[..., 3, 2] = MS[..., 1, 1]
    L = np.zeros(shape + (n, pre.shape[-2]))
    L[..., 0, 0], L[..., 0, 1], L[..., 0, 2] = a0, av, ae
    L[..., 1, 0], L[..., 1, 1], L[..., 1, 2] = b0, bv, be
    if carry:
        L[..., 2, 3] = 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        return L @ pre


def noiseless_radius(method: TwoPhase, lam, precond=None):
    """Spectral radius of :func:`noiseless_cycle_map` for each mode: shape ``grid_shape + (D,)``.

    The contraction of a mode's *mean* error per cycle; the second moments (with minibatch
    noise) contract by :func:`twophase.operators.second_moment_radius` instead.
    ``precond``: diagonal preconditioner of the inner steps (see :func:`noiseless_cycle_map`).
    """
    A = noiseless_cycle_map(method, lam, precond)
    out = np.full(A.shape[:-2], np.inf)
    ok = np.all(np.isfinite(A), axis=(-2, -1))
    if np.any(ok):
        out[ok] = np.max(np.abs(np.linalg.eigvals(A[ok])), axis=-1)
    return out


def per_step_rate(method: TwoPhase, lam, precond=None):
    """Per-inner-step convergence rate ``rho^{1/S}`` of each mode (noiseless; ``precond`` as in
    :func:`noiseless_cycle_map`)."""
    return noiseless_radius(method, lam, precond) ** (1.0 / method.S)
