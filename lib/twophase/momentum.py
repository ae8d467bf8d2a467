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
