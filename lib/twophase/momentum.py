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
(:func:`noiseless_cycle_map`, :func:`noiseless_radius`, :func:`per_step_rate`). Still holds
chapter 4's tuning and verdict helpers until they move to ``twophase.experiments``.

May import: :mod:`twophase._validate`, :mod:`twophase._base`, :mod:`twophase.methods`,
:mod:`twophase.engine`.
"""
from __future__ import annotations

import numpy as np

from . import _validate as v
from ._base import check_method
from .engine import _inner_matrix_power, _outer_coefficients, expected_loss, residual_polynomials  # noqa: F401
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


def noiseless_cycle_map(method: TwoPhase, lam):
    """Deterministic (noiseless) cycle map of each eigenmode, EMA coordinates.

    Reset: a 2 x 2 map on ``(e_0, v)``; carry: 3 x 3 on ``(e_0, v, u)`` where
    ``u`` is the (common) inner buffer at the start of the cycle. ``R`` does not
    matter without noise. In PyTorch coordinates ``(e_0, w = v / (1 - b))`` the
    map is conjugated by ``diag(1, 1 - b)``: same eigenvalues.

    Returns shape ``grid_shape + (D, n, n)``.
    """
    method = _check_method(method)
    lam = v.eigenvalues(lam)
    v.array_size("lam", 9.0 * float(np.prod(method.grid_shape)) * lam.size, "the per-mode cycle maps")
    eta = np.asarray(method.eta, dtype=np.float64)[..., None]
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


def noiseless_radius(method: TwoPhase, lam):
    """Spectral radius of :func:`noiseless_cycle_map` for each mode: shape ``grid_shape + (D,)``.

    The contraction of a mode's *mean* error per cycle; the second moments (with minibatch
    noise) contract by :func:`twophase.operators.second_moment_radius` instead.
    """
    A = noiseless_cycle_map(method, lam)
    out = np.full(A.shape[:-2], np.inf)
    ok = np.all(np.isfinite(A), axis=(-2, -1))
    if np.any(ok):
        out[ok] = np.max(np.abs(np.linalg.eigvals(A[ok])), axis=-1)
    return out


def per_step_rate(method: TwoPhase, lam):
    """Per-inner-step convergence rate ``rho^{1/S}`` of each mode (noiseless)."""
    return noiseless_radius(method, lam) ** (1.0 / method.S)


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
