"""Stacked momentum (SLA): conventions, exact second-moment dynamics, per-mode tools.

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

Exact second moments
--------------------
Per mode ``i`` the random state is ``(e_0, v, e^1, u^1, ..., e^R, u^R)`` (errors
``e = theta - theta*``). The deterministic part is mode-wise and the minibatch
noise ``zeta = (Ĥ - H) e^r - xi`` of worker ``r`` has zero conditional mean,
is independent across workers and steps, and by the Gaussian fourth-moment
identity has per-mode variance

    s_i = (1/B) (lam_i sum_j lam_j E[(e^r_j)^2] + sigma^2 lam_i [+ lam_i^2 E[(e^r_i)^2]])

(the bracket only in the ``"exact"`` form) and no cross-mode covariance when
the state has none. Hence the within-mode second-moment matrix closes, coupled
across modes only through the rank-one feedback. One inner step is
``(e, u) <- M (e, u) + zeta (-eta, 1)`` with ``M = [[1 - eta lam, -eta beta_in],
[lam, beta_in]]``. Workers are exchangeable, so per mode only 13 numbers are
tracked (:class:`SLAMoments`):

* global block ``G = E[(e_0, v)(e_0, v)^T]``: ``g00, g0v, gvv``;
* one-worker block ``W = E[(e^r, u^r)(e^r, u^r)^T]``: ``wee, weu, wuu``;
* two-distinct-workers block ``Q = E[(e^r, u^r)(e^r', u^r')^T]`` (symmetric by
  exchangeability): ``qee, qeu, quu``;
* worker-global cross block ``X = E[(e_0, v)(e^r, u^r)^T]``: ``x0e, x0u, xve, xvu``.

The outer step needs ``E[ebar^2] = wee / R + (1 - 1/R) qee`` and
``E[ebar e^r] = wee / R + (1 - 1/R) qee`` (similarly for ``u``), where ``ebar``
is the worker mean. ``W`` evolves step by step (noise feedback); ``Q`` and
``X`` carry no noise and jump by ``M^S`` once per cycle. A cycle costs
O(S D) per grid point.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import _validate as v
from .methods import TwoPhase
from .theory import DIVERGENCE_FACTOR, FORMS

__all__ = [
    "CONVENTIONS",
    "to_pytorch",
    "from_pytorch",
    "buffer_to_pytorch",
    "buffer_from_pytorch",
    "critical_nu",
    "residual_polynomials",
    "inner_matrix_power",
    "effective_spectrum",
    "cycle_map",
    "spectral_radius",
    "per_step_rate",
    "SLAMoments",
    "initial_moments_state",
    "state_labels",
    "expected_loss",
    "cycle_operator",
    "initial_state",
    "loss_from_state",
    "FAMILIES",
    "family_methods",
    "tuned_losses",
    "refine_tuned",
    "retune",
    "STACKING_LO",
    "STACKING_HI",
    "STACKING_VERDICTS",
    "stacking_ratio",
    "stacking_verdict",
    "rates_vs_S",
    "band_edges",
    "band_bound",
    "h_slope_at_zero",
    "removed_modes",
]

#: Outer-momentum parameterisations: ``"ema"`` (this package) and ``"pytorch"`` (also optax).
CONVENTIONS = ("ema", "pytorch")


# --------------------------------------------------------------------------- conventions
def to_pytorch(nu, beta_out):
    """EMA outer rate ``nu`` -> PyTorch/optax rate ``nu_pt = (1 - beta_out) nu``.

    The buffer converts as ``w = v / (1 - beta_out)`` (:func:`buffer_to_pytorch`);
    with both buffers starting at zero the iterates are identical.
    """
    b = v.unit_interval("beta_out", beta_out)
    return np.asarray(nu, dtype=np.float64) * (1.0 - b) if np.ndim(nu) else float(nu) * (1.0 - b)


def from_pytorch(nu_pt, beta_out):
    """PyTorch/optax outer rate ``nu_pt`` -> EMA rate ``nu = nu_pt / (1 - beta_out)``."""
    b = v.unit_interval("beta_out", beta_out)
    return np.asarray(nu_pt, dtype=np.float64) / (1.0 - b) if np.ndim(nu_pt) else float(nu_pt) / (1.0 - b)


def buffer_to_pytorch(buf, beta_out):
    """EMA buffer ``v`` -> PyTorch buffer ``w = v / (1 - beta_out)``."""
    b = v.unit_interval("beta_out", beta_out)
    return np.asarray(buf, dtype=np.float64) / (1.0 - b)


def buffer_from_pytorch(w, beta_out):
    """PyTorch buffer ``w`` -> EMA buffer ``v = (1 - beta_out) w``."""
    b = v.unit_interval("beta_out", beta_out)
    return np.asarray(w, dtype=np.float64) * (1.0 - b)


def critical_nu(beta_out, h=1.0, convention="ema"):
    """Outer rate at which the Nesterov cycle map of a mode with effective
    eigenvalue ``h`` is nilpotent (both eigenvalues zero): ``nu_pt h = 1``.

    EMA: ``nu = 1 / ((1 - beta_out) h)``; PyTorch: ``nu_pt = 1 / h``. For modes
    damped by the inner phase (``h ~ 1``) the EMA value is ``1 / (1 - beta_out)``.
    """
    b = v.unit_interval("beta_out", beta_out)
    v.choice("convention", convention, CONVENTIONS)
    h = np.asarray(h, dtype=np.float64)
    with np.errstate(divide="ignore"):
        nu_pt = 1.0 / h
    out = nu_pt / (1.0 - b) if convention == "ema" else nu_pt
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- per-mode tools
def _check_method(method):
    if not isinstance(method, TwoPhase):
        raise ValueError(f"method must be a twophase.TwoPhase, got {type(method).__name__}")
    return method


def residual_polynomials(lam, eta, beta_in, S):
    """Residual polynomials ``p_k(lam)``, ``k = 0..S``, of ``S`` heavy-ball steps from rest.

    ``p_0 = 1``, ``p_1 = 1 - eta lam``,
    ``p_{k+1} = (1 + beta_in - eta lam) p_k - beta_in p_{k-1}``: a mode starting at
    ``e`` with zero buffer is at ``p_k e`` after ``k`` noiseless steps.
    ``eta`` broadcasts against ``lam``; returns shape ``(S + 1,) + broadcast``.
    """
    S = v.positive_int("S", S)
    beta_in = v.unit_interval("beta_in", beta_in)
    x = np.asarray(eta, dtype=np.float64) * np.asarray(lam, dtype=np.float64)
    p = np.empty((S + 1,) + x.shape)
    p[0] = 1.0
    p[1] = 1.0 - x
    for k in range(1, S):
        p[k + 1] = (1.0 + beta_in - x) * p[k] - beta_in * p[k - 1]
    return p


def inner_matrix_power(lam, eta, beta_in, S):
    """``M^S`` for one inner step ``(e, u) <- M (e, u)``, ``M = [[1 - eta lam, -eta beta_in], [lam, beta_in]]``.

    Returns shape ``broadcast(eta, lam) + (2, 2)``. ``(M^S)[0, 0] = p_S``.
    """
    x = np.asarray(eta, dtype=np.float64)
    lam = np.asarray(lam, dtype=np.float64)
    shape = np.broadcast_shapes(x.shape, lam.shape)
    M = np.empty(shape + (2, 2))
    M[..., 0, 0] = 1.0 - x * lam
    M[..., 0, 1] = -x * beta_in
    M[..., 1, 0] = lam
    M[..., 1, 1] = beta_in
    return np.linalg.matrix_power(M, S)


def effective_spectrum(method: TwoPhase, lam):
    """Effective eigenvalue ``h(lam) = 1 - p_S(lam)`` seen by the outer step.

    With the buffer reset (reduced system) the pseudo-gradient of a mode is
    exactly ``Delta = h e_0``. With the buffer carried, ``Delta = h e_0 - (M^S)_{eu} u``
    where ``u`` is the buffer at the start of the cycle: ``h`` is the same
    polynomial, plus a term that couples the cycle to the carried buffer
    (see :func:`cycle_map`); it decays like ``beta_in^{S/2}`` for modes in the
    complex-root band. Returns shape ``grid_shape + (D,)``.
    Without inner momentum ``h = 1 - (1 - eta lam)^S``.
    """
    method = _check_method(method)
    lam = v.eigenvalues(lam)
    eta = np.asarray(method.eta, dtype=np.float64)[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        h = 1.0 - residual_polynomials(lam, eta, method.beta_in, method.S)[-1]
    return np.broadcast_to(h, method.grid_shape + lam.shape).copy()


def _outer_coefficients(nu, beta_out, outer):
    """Outer step ``(e_0, v, ebar) -> (e_0', v')`` as rows ``(a0, av, ae)``, ``(b0, bv, be)`` (EMA)."""
    b = beta_out
    kv, kd = (b, 1.0 - b) if outer == "nesterov" else (1.0, 0.0)
    if b == 0.0:
        kv, kd = 1.0, 0.0  # v' = Delta; both outers step e_0 <- e_0 - nu Delta
    nu = np.asarray(nu, dtype=np.float64)
    a0 = 1.0 - nu * (kv * (1.0 - b) + kd)
    av = -nu * kv * b
    ae = nu * (kv * (1.0 - b) + kd)
    return (a0, av, ae), (1.0 - b, b, -(1.0 - b))


def cycle_map(method: TwoPhase, lam):
    """Deterministic (noiseless) cycle map of each eigenmode, EMA coordinates.

    Reset: a 2 x 2 map on ``(e_0, v)``; carry: 3 x 3 on ``(e_0, v, u)`` where
    ``u`` is the (common) inner buffer at the start of the cycle. ``R`` does not
    matter without noise. In PyTorch coordinates ``(e_0, w = v / (1 - b))`` the
    map is conjugated by ``diag(1, 1 - b)``: same eigenvalues.

    Returns shape ``grid_shape + (D, n, n)``.
    """
    method = _check_method(method)
    lam = v.eigenvalues(lam)
    eta = np.asarray(method.eta, dtype=np.float64)[..., None]
    nu = np.broadcast_to(np.asarray(method.nu, dtype=np.float64), method.grid_shape)[..., None]
    with np.errstate(over="ignore", invalid="ignore"):
        MS = inner_matrix_power(lam, eta, method.beta_in, method.S)
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


def spectral_radius(method: TwoPhase, lam):
    """Spectral radius of :func:`cycle_map` for each mode: shape ``grid_shape + (D,)``."""
    A = cycle_map(method, lam)
    out = np.full(A.shape[:-2], np.inf)
    ok = np.all(np.isfinite(A), axis=(-2, -1))
    if np.any(ok):
        out[ok] = np.max(np.abs(np.linalg.eigvals(A[ok])), axis=-1)
    return out


def per_step_rate(method: TwoPhase, lam):
    """Per-inner-step convergence rate ``rho^{1/S}`` of each mode (noiseless)."""
    return spectral_radius(method, lam) ** (1.0 / method.S)


# --------------------------------------------------------------------------- second moments
class SLAMoments(NamedTuple):
    """Per-mode second moments of the SLA state (exchangeable workers).

    Each field has shape ``batch + (D,)``. Names: ``g`` global ``(e_0, v)``,
    ``w`` one worker ``(e, u)``, ``q`` two distinct workers, ``x`` global x worker.
    """

    g00: np.ndarray
    g0v: np.ndarray
    gvv: np.ndarray
    wee: np.ndarray
    weu: np.ndarray
    wuu: np.ndarray
    qee: np.ndarray
    qeu: np.ndarray
    quu: np.ndarray
    x0e: np.ndarray
    x0u: np.ndarray
    xve: np.ndarray
    xvu: np.ndarray


def initial_moments_state(m0, shape=()):
    """State at time 0: ``E[e_0^2] = m0``, all buffers zero; broadcast to ``shape + (D,)``."""
    m0 = np.asarray(m0, dtype=np.float64)
    full = np.broadcast_to(m0, tuple(shape) + m0.shape).copy()
    zeros = [np.zeros_like(full) for _ in range(12)]
    return SLAMoments(full, *zeros)


class _Coeffs(NamedTuple):
    a: np.ndarray  # 1 - eta lam
    c: np.ndarray  # -eta beta_in
    lam: np.ndarray
    beta: float
    eta: np.ndarray
    MS: np.ndarray  # M^S, shape eta + (D, 2, 2)


def _coefficients(method, lam):
    eta = np.asarray(method.eta, dtype=np.float64)[..., None]
    b = method.beta_in
    with np.errstate(over="ignore", invalid="ignore"):
        MS = inner_matrix_power(lam, eta, b, method.S)
    return _Coeffs(1.0 - eta * lam, -eta * b + 0.0 * lam, lam, b, eta, MS)


def _sym_transform(M, ee, eu, uu):
    """``M Y M^T`` for symmetric 2 x 2 ``Y = [[ee, eu], [eu, uu]]`` (entries of M: (..., 2, 2))."""
    m00, m01, m10, m11 = M[..., 0, 0], M[..., 0, 1], M[..., 1, 0], M[..., 1, 1]
    t0e, t0u = m00 * ee + m01 * eu, m00 * eu + m01 * uu  # row 0 of M Y
    t1e, t1u = m10 * ee + m11 * eu, m10 * eu + m11 * uu  # row 1 of M Y
    return (t0e * m00 + t0u * m01, t0e * m10 + t0u * m11, t1e * m10 + t1u * m11)


def _cycle(st: SLAMoments, k: _Coeffs, method: TwoPhase, nu, sigma, form):
    """One outer cycle of the exact second-moment dynamics (see module docstring)."""
    R, B, eta = method.R, method.B, k.eta
    carry = method.inner_momentum == "carry"
    g00, g0v, gvv = st.g00, st.g0v, st.gvv
    # 1. cycle start: e^r <- e_0 for every worker; buffers kept (carry) or zeroed (reset).
    if carry:
        x0u, xvu, wuu, quu = st.x0u, st.xvu, st.wuu, st.quu
        wee, weu = g00, x0u
        qee, qeu = g00, x0u
    else:
        zero = np.zeros_like(g00)
        x0u = xvu = wuu = quu = weu = qeu = zero
        wee, qee = g00, g00
    x0e, xve = g00, g0v
    # 2. inner phase. Q and X carry no noise: one jump by M^S.
    MS = k.MS
    qee, qeu, quu = _sym_transform(MS, qee, qeu, quu)
    x0e, x0u = x0e * MS[..., 0, 0] + x0u * MS[..., 0, 1], x0e * MS[..., 1, 0] + x0u * MS[..., 1, 1]
    xve, xvu = xve * MS[..., 0, 0] + xvu * MS[..., 0, 1], xve * MS[..., 1, 0] + xvu * MS[..., 1, 1]
    # W: step by step, with the loss-feedback noise entering along (-eta, 1).
    a, c, lam, beta = k.a, k.c, k.lam, k.beta
    aa, ac2, cc = a * a, 2.0 * a * c, c * c
    al, ab_cl, cb = a * lam, a * beta + c * lam, c * beta
    ll, lb2, bb = lam * lam, 2.0 * lam * beta, beta * beta
    eta2 = eta * eta
    exact = form == "exact"
    for _ in range(method.S):
        fb = np.sum(lam * wee, axis=-1, keepdims=True)
        s = (lam * fb + sigma ** 2 * lam + (ll * wee if exact else 0.0)) / B
        wee, weu, wuu = (aa * wee + ac2 * weu + cc * wuu + eta2 * s,
                         al * wee + ab_cl * weu + cb * wuu - eta * s,
                         ll * wee + lb2 * weu + bb * wuu + s)
    # 3. outer step on (e_0, v, ebar).
    (a0, av, ae), (b0, bv, be) = _outer_coefficients(nu, method.beta_out, method.outer)
    f = 1.0 / R
    ebar2 = f * wee + (1.0 - f) * qee  # E[ebar^2] (also E[ebar e^r])
    ebar_u = f * weu + (1.0 - f) * qeu  # E[ebar u^r]
    # Y = cov(e_0, v, ebar): [[g00, g0v, x0e], [g0v, gvv, xve], [x0e, xve, ebar2]]
    r0 = (a0, av, ae)
    r1 = (b0, bv, be)

    def quad(p, q):
        return (p[0] * (q[0] * g00 + q[1] * g0v + q[2] * x0e)
                + p[1] * (q[0] * g0v + q[1] * gvv + q[2] * xve)
                + p[2] * (q[0] * x0e + q[1] * xve + q[2] * ebar2))

    n00, n0v, nvv = quad(r0, r0), quad(r0, r1), quad(r1, r1)
    # cross with the worker state after the outer step: L @ [[x0e, x0u], [xve, xvu], [ebar2, ebar_u]]
    nx0e = a0 * x0e + av * xve + ae * ebar2
    nx0u = a0 * x0u + av * xvu + ae * ebar_u
    nxve = b0 * x0e + bv * xve + be * ebar2
    nxvu = b0 * x0u + bv * xvu + be * ebar_u
    return SLAMoments(n00, n0v, nvv, wee, weu, wuu, qee, qeu, quu, nx0e, nx0u, nxve, nxvu)


def _check(method, lam, m0, sigma, form):
    method = _check_method(method)
    lam = v.eigenvalues(lam)
    m0 = v.moments(m0, lam.size)
    sigma = v.nonnegative_real("sigma", sigma)
    v.choice("form", form, FORMS)
    return method, lam, m0, sigma


def expected_loss(method: TwoPhase, lam, m0, cycles: int, sigma: float = 0.0, form: str = "exact"):
    """Exact expected loss of SLA (any ``R``, reset or carry, heavy ball or Nesterov).

    Same contract as :func:`twophase.theory.expected_loss`: ``eta`` and ``nu``
    may be broadcasting arrays; returns ``grid_shape + (cycles + 1,)`` with the
    loss ``½(sum_i lam_i E[e_{0,i}^2] + sigma^2)`` at the start of each outer
    step, ``inf`` from the step a run exceeds ``DIVERGENCE_FACTOR`` times its
    initial loss, and no floating-point warnings. Works without momentum too
    (it then equals the LA-DiLoCo recursion to rounding).
    """
    method, lam, m0, sigma = _check(method, lam, m0, sigma, form)
    cycles = v.positive_int("cycles", cycles)
    shape = method.grid_shape
    nu = np.asarray(method.nu, dtype=np.float64)[..., None]
    k = _coefficients(method, lam)
    L0 = 0.5 * (lam @ m0 + sigma ** 2)
    limit = DIVERGENCE_FACTOR * max(L0, np.finfo(float).tiny)
    out = np.empty(shape + (cycles + 1,))
    out[..., 0] = L0
    st = initial_moments_state(m0, shape)
    diverged = np.zeros(shape, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(1, cycles + 1):
            st = _cycle(st, k, method, nu, sigma, form)
            loss = 0.5 * (st.g00 @ lam + sigma ** 2)
            diverged = diverged | ~np.isfinite(loss) | (loss > limit)
            out[..., t] = loss
            if np.any(diverged):
                st = SLAMoments(*(np.where(diverged[..., None], 0.0, f) for f in st))
        bad = ~np.isfinite(out) | (out > limit)
        out[np.cumsum(bad, axis=-1) > 0] = np.inf
    return out


# --------------------------------------------------------------------------- dense operator
_RESET_STATE = ("g00", "g0v", "gvv")
_CARRY_STATE = ("g00", "g0v", "gvv", "x0u", "xvu", "wuu", "quu")


def state_labels(method: TwoPhase):
    """Components of the between-cycle state used by :func:`cycle_operator`.

    Reset: ``(g00, g0v, gvv)`` = ``E[e_0^2], E[e_0 v], E[v^2]`` per mode; every
    worker quantity is re-initialised at the cycle start. Carry adds the carried
    buffer's moments ``E[e_0 u], E[v u], E[u^2]`` and, for ``R > 1``, ``E[u^r u^r']``.
    """
    method = _check_method(method)
    if method.inner_momentum == "reset":
        return _RESET_STATE
    return _CARRY_STATE if method.R > 1 else _CARRY_STATE[:-1]


def initial_state(method: TwoPhase, m0):
    """Flattened between-cycle state at time 0 (component-major: index ``k * D + i``)."""
    labels = state_labels(method)
    m0 = np.asarray(m0, dtype=np.float64)
    s = np.zeros(len(labels) * m0.size)
    s[: m0.size] = m0
    return s


def loss_from_state(state, lam, sigma=0.0):
    """Expected loss ``½(lam · g00 + sigma^2)`` of a flattened state (leading axes allowed)."""
    lam = np.asarray(lam, dtype=np.float64)
    return 0.5 * (np.asarray(state)[..., : lam.size] @ lam + sigma ** 2)


def _expand(flat, labels, D, batch_shape):
    """Flattened state(s) -> SLAMoments with the non-state components zero."""
    fields = {name: np.zeros(batch_shape + (D,)) for name in SLAMoments._fields}
    for j, name in enumerate(labels):
        fields[name] = np.array(flat[..., j * D:(j + 1) * D], dtype=np.float64)
    return SLAMoments(**fields)


def cycle_operator(method: TwoPhase, lam, form: str = "exact"):
    """Dense affine map of one cycle on the between-cycle state: ``s' = T s + sigma^2 b``.

    The state is :func:`state_labels` per mode, flattened component-major
    (index ``k * D + i``), so ``T`` is ``(n D) x (n D)`` with ``n = 3`` (reset),
    ``6`` (carry, ``R = 1``) or ``7`` (carry, ``R > 1``). Start from
    :func:`initial_state`; the loss is :func:`loss_from_state`. Built by applying
    the exact cycle to the basis vectors (O(n D^2 S) work): meant for small ``D``.
    Needs scalar ``eta`` and ``nu``.
    """
    method = _check_method(method)
    lam = v.eigenvalues(lam)
    v.choice("form", form, FORMS)
    if method.grid_shape != ():
        raise ValueError(f"cycle_operator needs scalar eta and nu, got grid shape {method.grid_shape}")
    labels = state_labels(method)
    D = lam.size
    N = len(labels) * D
    k = _coefficients(method, lam)
    nu = float(method.nu)
    labels_idx = [SLAMoments._fields.index(n) for n in labels]
    with np.errstate(over="ignore", invalid="ignore"):
        basis = _expand(np.eye(N), labels, D, (N,))
        out = _cycle(basis, k, method, nu, 0.0, form)
        T = np.concatenate([out[j] for j in labels_idx], axis=-1).T
        zero = _expand(np.zeros((1, N)), labels, D, (1,))
        out = _cycle(zero, k, method, nu, 1.0, form)
        b = np.concatenate([out[j] for j in labels_idx], axis=-1)[0]
    return T, b


# --------------------------------------------------------------------------- tuned comparisons
#: Method families compared at equal gradient steps in the book (chapter 4).
FAMILIES = ("SGD", "SGD+momentum", "SGD+Nesterov", "LA", "SLA heavy ball", "SLA Nesterov")


def family_methods(family, eta, nu_pt=(1.0,), betas=(0.0,), S_values=(1,), inner=("reset",), B=1):
    """The grid of methods one family is tuned over, as ``TwoPhase`` objects.

    Every family gets the same ``eta`` values (an array, vectorised). Momentum
    families get every ``beta`` in ``betas``; two-phase families every ``S`` in
    ``S_values`` and every outer rate ``nu_pt`` (PyTorch units: the rate on the
    raw buffer, converted to EMA with :func:`from_pytorch`, so that ``nu_pt = 1``
    means "critical" for every ``beta_out``); SLA also every inner-buffer policy
    in ``inner`` and ``beta_in = beta_out = beta`` pairs over ``betas x betas``.

    * ``SGD``: ``TwoPhase(eta, S=1)``.
    * ``SGD+momentum``: heavy-ball SGD, ``TwoPhase(eta, S=1, beta_in=beta, inner_momentum="carry")``.
    * ``SGD+Nesterov``: ``TwoPhase(eta, nu=1/(1-beta), S=1, beta_out=beta, outer="nesterov")``,
      i.e. PyTorch Nesterov SGD with learning rate ``eta``.
    * ``LA``: ``TwoPhase(eta, nu=nu_pt, S)``.
    * ``SLA heavy ball`` / ``SLA Nesterov``: ``TwoPhase(eta, nu=nu_pt/(1-beta_out), S, beta_in, beta_out)``.

    Returns a list of ``TwoPhase`` whose ``eta`` has shape ``(n_eta, 1)`` and
    ``nu`` shape ``(n_nu,)`` (grid ``(n_eta, n_nu)``).
    """
    v.choice("family", family, FAMILIES)
    eta = np.asarray(eta, dtype=np.float64).reshape(-1, 1)
    nu_pt = np.asarray(nu_pt, dtype=np.float64).reshape(-1)
    out = []
    if family == "SGD":
        out.append(TwoPhase(eta, nu=np.ones(1), S=1, B=B))
    elif family == "SGD+momentum":
        out += [TwoPhase(eta, nu=np.ones(1), S=1, B=B, beta_in=b, inner_momentum="carry") for b in betas]
    elif family == "SGD+Nesterov":
        out += [TwoPhase(eta, nu=np.full(1, from_pytorch(1.0, b)), S=1, B=B, beta_out=b, outer="nesterov")
                for b in betas]
    elif family == "LA":
        out += [TwoPhase(eta, nu=nu_pt, S=S, B=B) for S in S_values]
    else:
        outer = "heavy_ball" if family == "SLA heavy ball" else "nesterov"
        out += [TwoPhase(eta, nu=from_pytorch(nu_pt, bo), S=S, B=B, beta_in=bi, beta_out=bo, outer=outer,
                         inner_momentum=pol)
                for S in S_values for bi in betas for bo in betas for pol in inner]
    return out


def tuned_losses(methods, lam, m0, budgets, sigma=0.0, form="exact"):
    """Best expected loss over a grid of methods at each budget of gradient steps.

    Parameters
    ----------
    methods : list of TwoPhase
        Grids as produced by :func:`family_methods` (``R = 1`` so a cycle of ``S``
        inner steps costs ``S`` gradient steps).
    budgets : sequence of int
        Gradient-step budgets; each must be a multiple of every method's ``S``.

    Returns
    -------
    best : ndarray, shape (len(budgets),)
        Minimum expected loss over every grid point of every method.
    params : list of dict
        For each budget, the tuned ``eta``, ``nu`` (EMA), ``nu_pt``, ``S``, ``beta_in``,
        ``beta_out``, ``inner_momentum`` and whether ``eta``/``nu`` sit at the edge of their grid.
    """
    lam = v.eigenvalues(lam)
    budgets = np.asarray([v.positive_int("budget", int(b)) for b in budgets])
    best = np.full(budgets.size, np.inf)
    params = [None] * budgets.size
    for m in methods:
        if any(b % m.S for b in budgets):
            raise ValueError(f"every budget must be a multiple of S={m.S}, got {budgets.tolist()}")
        L = expected_loss(m, lam, m0, int(budgets.max() // m.S), sigma=sigma, form=form)
        Lb = L[..., budgets // m.S]  # grid + (nb,)
        flat = Lb.reshape(-1, budgets.size)
        idx = np.argmin(flat, axis=0)
        eta_g = np.broadcast_to(np.asarray(m.eta, dtype=float), m.grid_shape)
        nu_g = np.broadcast_to(np.asarray(m.nu, dtype=float), m.grid_shape)
        for k in range(budgets.size):
            val = flat[idx[k], k]
            if val < best[k]:
                best[k] = val
                i = np.unravel_index(idx[k], m.grid_shape)
                params[k] = {
                    "eta": float(eta_g[i]), "nu": float(nu_g[i]),
                    "nu_pt": float(nu_g[i] * (1 - m.beta_out)), "S": m.S,
                    "beta_in": m.beta_in, "beta_out": m.beta_out, "outer": m.outer,
                    "inner_momentum": m.inner_momentum,
                    "eta_at_edge": bool(i[0] in (0, m.grid_shape[0] - 1)) if m.grid_shape[0] > 1 else False,
                    "nu_at_edge": bool(i[-1] in (0, m.grid_shape[-1] - 1)) if m.grid_shape[-1] > 1 else False,
                }
    return best, params


# --------------------------------------------------------------------------- Figure 3 helpers
def rates_vs_S(method: TwoPhase, lam: float, S_values):
    """Per-step rate ``rho^{1/S}`` of one mode ``lam`` for each ``S`` in ``S_values``
    (all other fields of ``method`` kept; scalar ``eta``, ``nu``)."""
    method = _check_method(method)
    if method.grid_shape != ():
        raise ValueError(f"rates_vs_S needs scalar eta and nu, got grid shape {method.grid_shape}")
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    return np.array([per_step_rate(method.replace(S=int(S)), lam)[0] for S in S_values])


def band_edges(eta, beta_in):
    """Complex-root band of inner heavy ball: ``eta lam`` in ``[(1 - sqrt b)^2, (1 + sqrt b)^2]``.

    Inside it ``p_k = beta^{k/2} (U_k(x) - sqrt(beta) U_{k-1}(x))`` with
    ``x = (1 + beta - eta lam) / (2 sqrt(beta))`` (Chebyshev polynomials of the second
    kind), so ``|p_S| <= (S + 1)(1 + sqrt(beta)) beta^{S/2}``. Returns ``(lam_lo, lam_hi)``.
    """
    b = v.unit_interval("beta_in", beta_in)
    eta = v.positive_real("eta", eta)
    return (1 - np.sqrt(b)) ** 2 / eta, (1 + np.sqrt(b)) ** 2 / eta


def band_bound(S, beta_in):
    """Bound ``(S + 1)(1 + sqrt(beta)) beta^{S/2}`` on ``|p_S|`` inside :func:`band_edges`."""
    b = v.unit_interval("beta_in", beta_in)
    S = v.positive_int("S", S)
    return (S + 1) * (1 + np.sqrt(b)) * b ** (S / 2)


def h_slope_at_zero(eta, beta_in, S):
    """``dh/dlam`` at ``lam = 0``: ``eta sum_{k=1}^{S} (1 - beta^k) / (1 - beta)``
    (``-> eta S / (1 - beta)`` for large ``S``; ``eta S`` without momentum)."""
    b = v.unit_interval("beta_in", beta_in)
    S = v.positive_int("S", S)
    k = np.arange(1, S + 1)
    return float(eta * np.sum((1 - b ** k) / (1 - b)))


def removed_modes(eta, beta_in, S, lam_max=None, n=200001):
    """Eigenvalues ``lam`` in ``(0, lam_max]`` where ``p_S(lam) = 0``, i.e. ``h = 1``:
    the modes a critical Nesterov outer step (``nu_pt h = 1``) removes in one cycle.

    Located by sign changes on a fine grid and refined by bisection. ``lam_max``
    defaults to the stability edge ``2 (1 + beta_in) / eta`` of inner heavy ball.
    """
    b = v.unit_interval("beta_in", beta_in)
    eta = v.positive_real("eta", eta)
    S = v.positive_int("S", S)
    lam_max = 2 * (1 + b) / eta if lam_max is None else float(lam_max)
    x = np.linspace(0, lam_max, n)[1:]
    p = residual_polynomials(x, eta, b, S)[-1]
    roots = []
    if b == 0.0:
        return np.array([1.0 / eta]) if 1.0 / eta <= lam_max else np.array([])
    idx = np.nonzero(np.sign(p[:-1]) * np.sign(p[1:]) < 0)[0]
    for i in idx:
        lo, hi = x[i], x[i + 1]
        flo = p[i]
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            fm = residual_polynomials(mid, eta, b, S)[-1]
            if np.sign(fm) == np.sign(flo):
                lo, flo = mid, fm
            else:
                hi = mid
        roots.append(0.5 * (lo + hi))
    return np.array(roots)


def refine_tuned(params, lam, m0, budget, sigma=0.0, B=1, factor=1.6, n=9, form="exact"):
    """Re-tune one winner of :func:`tuned_losses` on a finer local grid.

    Keeps the discrete choices in ``params`` (``S``, betas, outer, inner policy)
    and scans ``eta`` and the PyTorch-unit outer rate ``nu_pt`` over
    ``geomspace(x / factor, x * factor, n)`` around the tuned values (``nu`` is
    only scanned for two-phase methods, ``S > 1``; for ``S = 1`` only the
    product ``nu * eta`` matters). Returns ``(best loss at budget, params)`` with
    ``params`` updated to the new optimum, so it can be applied repeatedly with a
    shrinking ``factor`` to check that the tuning has converged.
    """
    lam = v.eigenvalues(lam)
    budget = v.positive_int("budget", budget)
    S = int(params["S"])
    if budget % S:
        raise ValueError(f"budget must be a multiple of S={S}, got {budget}")
    eta = params["eta"] * np.geomspace(1 / factor, factor, n)[:, None]
    bo = float(params["beta_out"])
    if S > 1:
        nu = from_pytorch(params["nu_pt"] * np.geomspace(1 / factor, factor, n), bo)
    else:
        nu = np.array([params["nu"]])
    m = TwoPhase(eta, nu=nu, S=S, B=B, beta_in=float(params["beta_in"]), beta_out=bo,
                 outer=params["outer"], inner_momentum=params["inner_momentum"])
    L = expected_loss(m, lam, m0, budget // S, sigma=sigma, form=form)[..., -1]
    i = np.unravel_index(np.argmin(L), L.shape)
    eta_g = np.broadcast_to(np.asarray(m.eta, dtype=float), m.grid_shape)
    nu_g = np.broadcast_to(np.asarray(m.nu, dtype=float), m.grid_shape)
    new = dict(params)
    new.update(eta=float(eta_g[i]), nu=float(nu_g[i]), nu_pt=float(nu_g[i] * (1 - bo)),
               eta_at_edge=bool(i[0] in (0, n - 1)), nu_at_edge=bool(S > 1 and i[1] in (0, n - 1)))
    return float(L[i]), new


def retune(params, lam, m0, budget, sigma=0.0, B=1, factors=(1.6, 1.25, 1.1, 1.04, 1.015), n=9, tol=0.01,
           form="exact"):
    """Apply :func:`refine_tuned` with shrinking ``factors`` until one round lowers the
    excess loss ``L - sigma^2/2`` by less than the fraction ``tol``.

    Returns ``(loss, params, history, converged)``: ``history`` lists the excess loss after
    each round (the first entry is the starting point's).
    """
    floor = 0.5 * float(sigma) ** 2
    loss, p = None, dict(params)
    history = []
    converged = False
    for f in factors:
        new, p = refine_tuned(p, lam, m0, budget, sigma=sigma, B=B, factor=f, n=n, form=form)
        history.append(new - floor)
        if loss is not None and (loss - new) <= tol * (loss - floor):
            converged = True
            loss = new
            break
        loss = new
    return loss, p, history, converged


# --------------------------------------------------------------------------- chapter 4 verdict
#: Verdict bands for :func:`stacking_verdict`: a ratio below ``STACKING_LO`` means stacking
#: helps, above ``STACKING_HI`` that single-loop momentum is better (``1.25 = 1 / 0.8``, so the
#: band is symmetric on a log scale around 1).
STACKING_LO, STACKING_HI = 0.8, 1.25

#: The three outcomes of :func:`stacking_verdict`.
STACKING_VERDICTS = ("stacking helps", "about equal", "single-loop momentum is better")


def stacking_ratio(stacked, single, floor=0.0):
    r"""Excess-loss ratio of the best stacked method to the best single-loop momentum method.

    .. math:: r = \frac{L_\mathrm{stacked} - L_\infty}{L_\mathrm{single} - L_\infty},
              \qquad L_\infty = \sigma^2 / 2 \text{ (the noise floor)}.

    Parameters
    ----------
    stacked, single : float
        Best tuned expected losses of the stacked (SLA) and the single-loop momentum families
        at the same budget of gradient steps.
    floor : float, optional
        The irreducible loss ``sigma**2 / 2`` subtracted from both (default 0).

    Returns
    -------
    float
        The ratio ``r``; ``r < 1`` means stacking reaches the lower excess loss.
    """
    return (stacked - floor) / (single - floor)


def stacking_verdict(ratio, lo=STACKING_LO, hi=STACKING_HI):
    """Turn an excess-loss ratio (:func:`stacking_ratio`) into chapter 4's verdict.

    Parameters
    ----------
    ratio : float
        ``excess(stacked) / excess(single-loop)``; ``inf`` is allowed (single-loop reached the
        floor), nan is not.
    lo, hi : float, optional
        Band edges, ``0 < lo <= hi`` (defaults 0.8 and 1.25). Strict inequalities: a ratio
        exactly at an edge is "about equal".

    Returns
    -------
    str
        ``"stacking helps"`` if ``ratio < lo``, ``"single-loop momentum is better"`` if
        ``ratio > hi``, otherwise ``"about equal"`` (one of :data:`STACKING_VERDICTS`).

    Raises
    ------
    ValueError
        If ``ratio`` is nan or not a real scalar, or the band is not ``0 < lo <= hi``.

    Examples
    --------
    >>> stacking_verdict(0.5), stacking_verdict(1.0), stacking_verdict(2.0)
    ('stacking helps', 'about equal', 'single-loop momentum is better')
    """
    lo = v.positive_real("lo", lo)
    hi = v.positive_real("hi", hi)
    if hi < lo:
        raise ValueError(f"hi must be >= lo (allowed range [lo, inf)), got lo={lo}, hi={hi}")
    r = np.asarray(ratio, dtype=np.float64) if not isinstance(ratio, str) else None
    if r is None or r.ndim or np.isnan(r):
        raise ValueError(f"ratio must be a real scalar, not nan (allowed range [-inf, inf]), got {ratio!r}")
    r = float(r)
    if r < lo:
        return STACKING_VERDICTS[0]
    if r > hi:
        return STACKING_VERDICTS[2]
    return STACKING_VERDICTS[1]
