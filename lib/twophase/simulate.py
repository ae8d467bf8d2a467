"""Monte-Carlo simulation of two-phase optimizers on Gaussian linear regression.

The real stochastic algorithm is run in the eigenbasis of ``H`` on the error
``e = theta - theta*``, vectorised over independent seeds and over workers
(arrays of shape ``(seeds, R, D)``).

Two minibatch-gradient samplers are provided:

``"naive"``
    Draws the ``B x D`` feature matrix ``X = Z H^{1/2}`` and labels' noise
    ``eps ~ N(0, sigma^2 I_B)`` and returns ``g = X^T (X e - eps) / B``.
    Cost O(B D) per gradient; kept as the reference.
``"fast"``
    Exact in law with O(D) random numbers (``two-phase-theory.md`` §5). With
    ``w = H^{1/2} e`` and ``ŵ = w / |w|``, ``Z = γ ŵ^T + Z P_⊥`` where
    ``γ = Z ŵ ~ N(0, I_B)`` is independent of ``Z P_⊥``. Hence
    ``Z^T v = ŵ (γ·v) + |v| ξ_⊥`` with ``v = |w| γ - eps``, and the two scalars
    need only ``χ²_B = |γ|²``, ``a ~ N(0, σ²)`` (noise along γ) and ``χ²_{B-1}``:
    ``γ·v = |w| χ²_B - a χ_B``, ``|v|² = |w|² χ²_B - 2|w| a χ_B + a² + σ² χ²_{B-1}``.
    With ``ξ_⊥ = ξ - ŵ (ŵ·ξ)`` the gradient is ``g = (H^{1/2} / B)(c ξ + d w)``,
    ``c = |v|``, ``d = (γ·v - c ŵ·ξ) / |w|``: one pass for ``|w|²`` and ``w·ξ``, one for
    the step. :func:`loss_curves` runs it compiled (numba, when importable) or in numpy.

How :func:`loss_curves` runs (issue 12):

* seeds are split into chunks of :func:`seeds_per_chunk` seeds, a number fixed by the problem
  (about :data:`CHUNK_ENTRIES` numbers per array, cache-sized); chunk ``k`` draws from
  ``Generator(SFC64(SeedSequence(seed).spawn(n)[k]))`` and the chunks run where ``executor``
  says (:mod:`twophase.parallel`), so the numbers never depend on how many workers there are;
* compiled, the normals ``ξ`` are drawn by numba from the chunk's own ``Generator`` (numpy's
  ziggurat, the same numbers bit for bit, about 3.5x faster than ``standard_normal``), and the
  step is fused in one kernel; the numpy path draws them with ``standard_normal``;
* the updates are in place; at ``R = 1``, ``nu = 1`` without outer momentum the outer step is
  the identity (``e0 - (e0 - e_1) = e_1``) and is skipped with the copy and the mean;
* a chunk whose seeds have all diverged stops (their loss is ``inf`` from the step each one
  diverged, as before), so a run that diverges everywhere returns early.

Outer momentum uses the EMA convention (``v <- beta v + (1 - beta) Delta``),
see :mod:`twophase.methods`.

Owns: Monte-Carlo only (the samplers and :func:`loss_curves`); summaries of its output are in
:mod:`twophase.summaries`. Divergence follows the same rule as the exact theory
(:mod:`twophase._base`).

May import: :mod:`twophase._validate`, :mod:`twophase.parallel`, :mod:`twophase._base`,
:mod:`twophase.methods` (and numba, optionally).
"""
from __future__ import annotations

import concurrent.futures as cf
import threading
from typing import NamedTuple

import numpy as np

from . import _base
from . import _validate as v
from . import parallel as par
from ._base import check_method, check_problem
from .methods import TwoPhase

__all__ = ["loss_curves", "minibatch_gradient", "seeds_per_chunk", "SAMPLERS", "CHUNK_ENTRIES"]

SAMPLERS = ("fast", "naive")
# Measured cost (with margin) used to refuse runs that would take minutes: seconds per
# simulated coordinate-step for the fast sampler (compiled: 3.4-4.0e-9 on one core at D = 3200,
# SGD, LA-DiLoCo and SLA), and per coordinate x batch row for the naive one.
_SEC_PER_COORD_STEP = {"fast": 8e-9, "naive": 1.5e-8}
#: Numbers per (seeds, R, D) array of one chunk of :func:`loss_curves` (512 KiB of float64: the
#: chunk's two or three arrays stay in a core's 2 MiB L2 cache; measured ~5 % faster per step
#: than 256 KiB). A constant, so chunks depend on the problem only.
CHUNK_ENTRIES = 1 << 16


def minibatch_gradient(e, lam, B, sigma, rng, sampler="fast"):
    """One minibatch gradient per row of ``e`` (shape ``(..., D)``), in the eigenbasis.

    Returns ``g`` with ``E[g] = lam * e`` and the exact Gaussian-design law of
    ``X^T (X e - eps) / B``. ``B >= 1``, ``sigma >= 0``, ``rng`` a ``numpy.random.Generator``.
    """
    lam = v.eigenvalues(lam)
    e = v.real_array("e", e)
    if e.shape[-1] != lam.size:
        raise ValueError(f"e must have a last axis of length len(lam) = {lam.size}, got shape {e.shape}")
    B = v.positive_int("B", B)
    sigma = v.nonnegative_real("sigma", sigma)
    if not isinstance(rng, np.random.Generator):
        raise v.ArgumentTypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    v.choice("sampler", sampler, SAMPLERS)
    v.array_size("B", float(e.size) * (B if sampler == "naive" else 1), "the sampled features")
    return _minibatch_gradient(e, lam, B, sigma, rng, sampler)


def _minibatch_gradient(e, lam, B, sigma, rng, sampler):
    sqrt_lam = np.sqrt(lam)
    lead = e.shape[:-1]
    D = e.shape[-1]
    if sampler == "naive":
        Z = rng.standard_normal(lead + (B, D))
        X = Z * sqrt_lam
        eps = sigma * rng.standard_normal(lead + (B,)) if sigma > 0 else 0.0
        resid = np.einsum("...bd,...d->...b", X, e) - eps
        return np.einsum("...bd,...b->...d", X, resid) / B
    e2 = np.ascontiguousarray(e).reshape(-1, D)
    g = np.empty_like(e2)
    _fast_gradient_into(g, e2, np.empty_like(e2), lam, sqrt_lam, B, sigma, rng, sqrt_lam / B)
    return g.reshape(e.shape)


def _fast_gradient_into(g, e, w, lam, sqrt_lam, B, sigma, rng, scale):
    """Write ``scale * g`` into ``g`` (rows x D), ``g`` a fast-sampler gradient at each row of ``e``.

    ``scale = sqrt_lam / B`` gives the gradient itself; ``w`` is scratch of the same shape. With
    ``w = sqrt_lam e``, ``s = ŵ·ξ`` and ``c = |v|`` (module docstring) the gradient is
    ``g = (sqrt_lam / B) (c ξ + (γ·v - c s) ŵ)``, one random draw and a few in-place passes.
    Draws as :func:`_draw_fast`.
    """
    chi2_B, a, rest = _draw_fast(rng, g, B, sigma)
    np.multiply(e, sqrt_lam, out=w)
    wn2 = np.einsum("ij,ij->i", w, w)
    wx = np.einsum("ij,ij->i", w, g)
    wn = np.sqrt(wn2)
    chi_B = np.sqrt(chi2_B)
    gamma_v = wn * chi2_B - a * chi_B
    c = np.sqrt(np.maximum(wn2 * chi2_B - 2.0 * wn * a * chi_B + a * a + rest, 0.0))
    zero = wn == 0
    if zero.any():  # w = 0: any unit vector will do for ŵ; take the first axis
        safe = np.where(zero, 1.0, wn)
        s = np.where(zero, g[:, 0], wx / safe)
        d = np.where(zero, 0.0, (gamma_v - c * s) / safe)
        first = np.where(zero, gamma_v - c * s, 0.0)
    else:
        s = wx / wn
        d = (gamma_v - c * s) / wn
        first = None
    g *= c[:, None]
    w *= d[:, None]
    g += w
    if first is not None:
        g[:, 0] += first
    g *= scale
    return g


def _draw_fast(rng, xi, B, sigma):
    """The fast sampler's draws, in this order: ``ξ ~ N(0, I)`` into ``xi`` (rows x D), then per
    row ``χ²_B``, ``a ~ N(0, σ²)`` and ``σ² χ²_{B-1}`` (the last two only when ``sigma > 0``, else
    zeros). Returns ``(χ²_B, a, σ² χ²_{B-1})``. :func:`_draw_step_python` draws the same
    numbers in the same order, compiled, and keeps ``a / σ`` and ``χ²_{B-1}`` unscaled."""
    n = xi.shape[0]
    rng.standard_normal(out=xi)
    chi2_B = rng.chisquare(B, size=n)
    if sigma > 0:
        a = rng.standard_normal(n)
        rest = rng.chisquare(B - 1, size=n) if B > 1 else np.zeros(n)
        a *= sigma
        rest *= sigma ** 2
    else:
        a, rest = np.zeros(n), np.zeros(n)
    return chi2_B, a, rest


def _fast_step_python(rows, xi, lam, sqrt_lam, scale, lr, chi2_B, a, rest, sigma, sigma2, u, beta_in,
                      sq):
    """One local step of every row in place, fused (the body of the compiled kernel).

    ``rows -= scale (c ξ + d sqrt_lam rows)`` without inner momentum (``scale = lr sqrt_lam / B``);
    with it (``u`` of the rows' shape, else empty; ``scale = sqrt_lam / B``):
    ``u <- beta_in u + g``, ``rows -= lr u`` (``beta_in = 0`` here: ``u <- g``, the first step
    after a reset). ``c``, ``d`` as in :func:`_fast_gradient_into`; ``a``, ``rest`` unscaled
    draws (as :func:`_draw_step_python` makes them), ``sigma2 = sigma ** 2``. If ``sq`` is not
    empty it receives ``sum_j lam_j rows_j^2`` after the step (the loss's sum).
    Two passes over a row (the second also sums the loss when it can). Compiled in strict IEEE
    arithmetic; each sum keeps four partial sums in a fixed order, so the result does not
    depend on the CPU's vector width or on how the kernel was specialised (it agrees with the
    numpy path to rounding, ~1e-15).
    """
    n, D = rows.shape
    momentum = u.shape[0] > 0
    want_sq = sq.shape[0] > 0
    D4 = D - D % 4
    for r in range(n):
        p0 = p1 = p2 = p3 = 0.0  # |w|^2
        q0 = q1 = q2 = q3 = 0.0  # w . xi
        for j in range(0, D4, 4):
            w0 = sqrt_lam[j] * rows[r, j]
            w1 = sqrt_lam[j + 1] * rows[r, j + 1]
            w2 = sqrt_lam[j + 2] * rows[r, j + 2]
            w3 = sqrt_lam[j + 3] * rows[r, j + 3]
            p0 += w0 * w0
            p1 += w1 * w1
            p2 += w2 * w2
            p3 += w3 * w3
            q0 += w0 * xi[r, j]
            q1 += w1 * xi[r, j + 1]
            q2 += w2 * xi[r, j + 2]
            q3 += w3 * xi[r, j + 3]
        for j in range(D4, D):
            w0 = sqrt_lam[j] * rows[r, j]
            p0 += w0 * w0
            q0 += w0 * xi[r, j]
        wn2 = (p0 + p1) + (p2 + p3)
        wx = (q0 + q1) + (q2 + q3)
        wn = np.sqrt(wn2)
        chi_B = np.sqrt(chi2_B[r])
        ar = sigma * a[r]
        gamma_v = wn * chi2_B[r] - ar * chi_B
        c = np.sqrt(max(wn2 * chi2_B[r] - 2.0 * wn * ar * chi_B + ar * ar + sigma2 * rest[r], 0.0))
        first = 0.0
        if wn > 0:
            d = (gamma_v - c * (wx / wn)) / wn
        else:  # w = 0: the first axis as the unit vector
            d = 0.0
            first = gamma_v - c * xi[r, 0]
        if momentum and beta_in == 0.0:
            for j in range(D):
                g = c * xi[r, j] + d * (sqrt_lam[j] * rows[r, j])
                u[r, j] = g * scale[j]
                rows[r, j] = rows[r, j] - lr[j] * u[r, j]
        elif momentum:
            for j in range(D):
                g = c * xi[r, j] + d * (sqrt_lam[j] * rows[r, j])
                u[r, j] = beta_in * u[r, j] + g * scale[j]
                rows[r, j] = rows[r, j] - lr[j] * u[r, j]
        elif want_sq and first == 0.0:  # plain SGD-like step: update and loss sum in one pass
            p0 = p1 = p2 = p3 = 0.0
            x, z = rows[r], xi[r]
            for j in range(0, D4, 4):
                x0 = x[j] - (c * z[j] + d * (sqrt_lam[j] * x[j])) * scale[j]
                x1 = x[j + 1] - (c * z[j + 1] + d * (sqrt_lam[j + 1] * x[j + 1])) * scale[j + 1]
                x2 = x[j + 2] - (c * z[j + 2] + d * (sqrt_lam[j + 2] * x[j + 2])) * scale[j + 2]
                x3 = x[j + 3] - (c * z[j + 3] + d * (sqrt_lam[j + 3] * x[j + 3])) * scale[j + 3]
                x[j], x[j + 1], x[j + 2], x[j + 3] = x0, x1, x2, x3
                p0 += lam[j] * x0 * x0
                p1 += lam[j + 1] * x1 * x1
                p2 += lam[j + 2] * x2 * x2
                p3 += lam[j + 3] * x3 * x3
            for j in range(D4, D):
                x0 = x[j] - (c * z[j] + d * (sqrt_lam[j] * x[j])) * scale[j]
                x[j] = x0
                p0 += lam[j] * x0 * x0
            sq[r] = (p0 + p1) + (p2 + p3)
            continue
        else:
            for j in range(D):
                g = c * xi[r, j] + d * (sqrt_lam[j] * rows[r, j])
                rows[r, j] = rows[r, j] - g * scale[j]
        if first != 0.0:  # the first axis's extra term, after the pass (w = 0 only)
            step = first * scale[0]
            if momentum:
                u[r, 0] += step
                step *= lr[0]
            rows[r, 0] = rows[r, 0] - step
        if want_sq:  # the row is in the L1 cache
            p0 = p1 = p2 = p3 = 0.0
            for j in range(0, D4, 4):
                p0 += lam[j] * rows[r, j] * rows[r, j]
                p1 += lam[j + 1] * rows[r, j + 1] * rows[r, j + 1]
                p2 += lam[j + 2] * rows[r, j + 2] * rows[r, j + 2]
                p3 += lam[j + 3] * rows[r, j + 3] * rows[r, j + 3]
            for j in range(D4, D):
                p0 += lam[j] * rows[r, j] * rows[r, j]
            sq[r] = (p0 + p1) + (p2 + p3)


def _normals_into(rng, out):
    """Fill the rows x D array ``out`` with ``rng.standard_normal()``, row after row (the body of
    the compiled filler).

    Compiled, numba's support for ``numpy.random.Generator`` runs numpy's own ziggurat on the
    same bit generator, so the stream is the one ``rng.standard_normal(out=out)`` would write, bit
    for bit (tested), and ``rng`` is advanced as far. It is about 3.5x faster on this project's
    machines (2.4 against 8.5 ns a number), which makes it most of a Monte-Carlo step's saving.
    """
    n, D = out.shape
    for i in range(n):
        for j in range(D):
            out[i, j] = rng.standard_normal()


def _draw_step_python(rng, rows, xi, lam, sqrt_lam, scale, lr, B, sigma, u, beta_in, sq, chi2_B, a,
                      rest):
    """One local step of the fast sampler with its draws, in one compiled call (the body of the
    compiled kernel; ``_NORMALS`` and ``_STEP`` are then the compiled :func:`_normals_into` and
    :func:`_fast_step_python`).

    The draws of :func:`_draw_fast` in its order, from the same ``rng``, unscaled:
    ``ξ`` into ``xi``, then ``χ²_B`` into ``chi2_B``, and with ``sigma > 0`` the normals ``a``
    and ``χ²_{B-1}`` into ``rest`` (zeros otherwise), one number at a time (numba's
    ``Generator`` gives each the number numpy's ``size=n`` call gives, tested); then the step.
    One call instead of five saves the per-call unboxing of ``rng`` and four numpy calls, the
    part of a step that holds the GIL.
    """
    _NORMALS(rng, xi)
    n = xi.shape[0]
    for r in range(n):
        chi2_B[r] = rng.chisquare(B)
    if sigma > 0:
        for r in range(n):
            a[r] = rng.standard_normal()
        for r in range(n):
            rest[r] = rng.chisquare(B - 1) if B > 1 else 0.0
    else:
        for r in range(n):
            a[r] = 0.0
            rest[r] = 0.0
    _STEP(rows, xi, lam, sqrt_lam, scale, lr, chi2_B, a, rest, sigma, sigma * sigma, u, beta_in, sq)


#: the compiled callees of :func:`_draw_step_python` (set by :func:`_kernels` before compiling it)
_NORMALS = _normals_into
_STEP = None


def _outer_step_python(e0, er, buf, nu, b, nesterov, lam, mean, sq):
    """The outer step fused in one pass over each seed (the body of the compiled kernel).

    ``Delta = e0 - mean_r er`` and the update of :func:`_outer_step` (``buf`` empty without outer
    momentum), then ``sq = sum_j lam_j e0_j^2`` (the loss's sum) and every worker's iterate reset
    to the new ``e0`` (the start of the next cycle). ``mean`` is scratch of length ``D``.
    """
    n, R, D = er.shape
    momentum = buf.shape[0] > 0
    for i in range(n):
        for j in range(D):
            mean[j] = er[i, 0, j]
        for r in range(1, R):
            for j in range(D):
                mean[j] += er[i, r, j]
        for j in range(D):
            delta = e0[i, j] - mean[j] / R
            if momentum:
                dd = delta * (1.0 - b)
                v = b * buf[i, j] + dd
                buf[i, j] = v
                x = e0[i, j] - nu * (b * v + dd if nesterov else v)
            else:
                x = e0[i, j] - nu * delta
            e0[i, j] = x
            mean[j] = x
        p0 = p1 = p2 = p3 = 0.0  # four partial sums in a fixed order, as in the local step
        D4 = D - D % 4
        for j in range(0, D4, 4):
            p0 += lam[j] * mean[j] * mean[j]
            p1 += lam[j + 1] * mean[j + 1] * mean[j + 1]
            p2 += lam[j + 2] * mean[j + 2] * mean[j + 2]
            p3 += lam[j + 3] * mean[j + 3] * mean[j + 3]
        for j in range(D4, D):
            p0 += lam[j] * mean[j] * mean[j]
        total = (p0 + p1) + (p2 + p3)
        sq[i] = total
        for r in range(R):
            for j in range(D):
                er[i, r, j] = mean[j]


_KERNEL = {}
_KERNEL_LOCK = threading.Lock()


def _kernels():
    """The compiled ``(local step, outer step, normals, draws and step)``
    (:func:`_fast_step_python`, :func:`_outer_step_python`, :func:`_normals_into`,
    :func:`_draw_step_python`; numba, ``nogil``: threads run them in parallel), or ``None``
    when numba is not importable or ``_USE_NUMBA`` is false (then the numpy path runs)."""
    if not _USE_NUMBA:
        return None
    with _KERNEL_LOCK:  # chunks starting together in threads compile once
        if "kernels" not in _KERNEL:
            try:
                import numba
            except ImportError:  # pragma: no cover - numba is pinned in requirements.txt
                _KERNEL["kernels"] = None
            else:
                # strict IEEE (no fastmath): the same numbers whatever the CPU or the specialisation
                jit = numba.njit(nogil=True, cache=True)
                global _NORMALS, _STEP
                step, fill = jit(_fast_step_python), jit(_normals_into)
                _NORMALS, _STEP = fill, step
                _KERNEL["kernels"] = (step, jit(_outer_step_python), fill, jit(_draw_step_python))
    return _KERNEL["kernels"]


def _fast_step_kernel():
    """The compiled local step of the fast sampler, or ``None`` (see :func:`_kernels`)."""
    k = _kernels()
    return None if k is None else k[0]


#: Use the compiled kernel when numba is importable (tests switch it off to run the numpy path).
_USE_NUMBA = True


def _check_precond(precond, D: int):
    """``None`` or a diagonal preconditioner ``p``: float64, shape ``(D,)``, finite and > 0."""
    if precond is None:
        return None
    p = v.real_array("precond", precond)
    if p.shape != (D,):
        raise ValueError(f"precond must be None or an array of shape ({D},) to match lam, "
                         f"got shape {p.shape}")
    if np.any(p <= 0):
        raise ValueError(f"precond must be > 0 in every mode (allowed range (0, inf)), got min {p.min()!r}")
    return p


def loss_curves(method: TwoPhase, lam, m0, cycles: int, seeds: int, sigma: float = 0.0,
                sampler: str = "fast", seed: int = 0, progress=None, precond=None, executor=None):
    """Monte-Carlo loss curves of the real stochastic algorithm.

    Parameters
    ----------
    method : TwoPhase
        Scalar ``eta`` and ``nu`` (no grids here).
    lam, m0 : array_like, shape (D,)
        Eigenvalues and initial second moments; the initial error has independent
        Gaussian coordinates ``e_i(0) ~ N(0, m0_i)``, drawn per seed.
    cycles : int
        Outer steps (>= 1).
    seeds : int
        Independent runs (>= 1), simulated in chunks of :func:`seeds_per_chunk` seeds.
    sigma : float
        Label-noise standard deviation (>= 0).
    sampler : {"fast", "naive"}
        Minibatch-gradient sampler (see module docstring).
    seed : int
        Root of the chunks' random streams: chunk ``k`` draws from
        ``Generator(SFC64(SeedSequence(seed).spawn(n_chunks)[k]))``. The chunks depend on the
        problem alone, so the result is the same bit for bit whatever ``executor`` runs it.
    progress : bool or None
        Show a progress bar over cycles (``None``: only for long runs; never with a process
        or cluster executor).
    precond : None or array_like, shape (D,)
        Diagonal preconditioner ``p`` (finite, > 0) of the local steps:
        ``theta <- theta - eta p g``, or with inner momentum ``u <- beta_in u + g``,
        ``theta <- theta - eta p u``. The outer step is not preconditioned.
    executor : None, "serial" or concurrent.futures.Executor
        Where the chunks run (:mod:`twophase.parallel`): ``None`` every local core, ``"serial"``
        the calling thread, or any executor (threads, processes, ``Client.get_executor()``).

    Returns
    -------
    ndarray, shape (seeds, cycles + 1)
        Population loss ``½(sum_i lam_i e_i^2 + sigma^2)`` of the global iterate at
        the start of each outer step; ``inf`` from the step a run diverges (same
        rule as :func:`twophase.theory.expected_loss`). A chunk whose seeds have all
        diverged stops being simulated.
    """
    return _simulate(method, lam, m0, cycles, seeds, sigma, sampler, seed, progress, precond,
                     executor).curves


class _Run(NamedTuple):
    curves: np.ndarray   # (seeds, cycles + 1)
    simulated: list      # cycles actually simulated, per chunk


def _simulate(method, lam, m0, cycles, seeds, sigma=0.0, sampler="fast", seed=0, progress=None,
              precond=None, executor=None) -> _Run:
    """:func:`loss_curves` with, per chunk, the number of cycles simulated."""
    plan = _plan(method, lam, m0, cycles, seeds, sigma, sampler, seed, progress, precond, executor)
    try:
        parts = par.map_chunks(_simulate_chunk, plan.tasks, executor)
    finally:
        if plan.bar is not None:
            plan.bar.close()
    return _Run(np.concatenate([c for c, _ in parts], axis=0), [n for _, n in parts])


class _Plan(NamedTuple):
    tasks: list  # arguments of _simulate_chunk, one tuple per chunk
    bar: object  # the shared progress bar, or None


def _plan(method, lam, m0, cycles, seeds, sigma, sampler, seed, progress, precond, executor,
          bar=None) -> _Plan:
    """Validate a :func:`loss_curves` call and split it into chunk tasks (``bar``: a shared one)."""
    method = check_method(method, scalar=True, what="loss_curves")
    cycles = v.positive_int("cycles", cycles)
    seeds = v.positive_int("seeds", seeds)
    lam, m0, sigma = check_problem(lam, m0, sigma, "exact")
    v.choice("sampler", sampler, SAMPLERS)
    seed = v.nonnegative_int("seed", seed)
    if progress is not None:
        v.flag("progress", progress)
    precond = _check_precond(precond, lam.size)
    executor = par._check_executor(executor)
    D, R, S = lam.size, method.R, method.S
    per_step = float(seeds) * R * D * (method.B if sampler == "naive" else 1)
    v.array_size("seeds", per_step, f"one step of {seeds} seeds x {R} workers at D = {D}")
    v.work_estimate(_SEC_PER_COORD_STEP[sampler] * per_step * S * cycles,
                    f"loss_curves ({cycles} cycles x {S} steps x {seeds} seeds x {R} workers at D = {D})",
                    "reduce seeds, cycles, S or D")
    lr = method.eta if precond is None else method.eta * precond  # the local step, per mode
    slices = par.chunk_slices(seeds, seeds_per_chunk(D, R, method.B, sampler))
    if progress is None:
        progress = cycles * S * seeds * R * D > 2e8
    if bar is None and progress and _in_process(executor):
        bar = _Progress(len(slices) * cycles, f"simulate {method!r}")
    elif not _in_process(executor):
        bar = None
    tasks = [(method, lam, m0, sigma, sampler, lr, cycles, sl.stop - sl.start, child, True, bar)
             for sl, child in zip(slices, par.chunk_seeds(seed, len(slices)))]
    return _Plan(tasks, bar)


def _in_process(executor) -> bool:
    """True if ``executor`` runs the chunks in this process (so they may share a progress bar)."""
    return executor is None or executor == "serial" or isinstance(executor, cf.ThreadPoolExecutor)


class _Progress:
    """A tqdm bar shared by the chunks running in this process's threads."""

    def __init__(self, total, desc):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, leave=False)
        self._lock = threading.Lock()

    def update(self, n=1):
        with self._lock:
            self._bar.update(n)

    def close(self):
        self._bar.close()


def _generator(seed_seq) -> np.random.Generator:
    """The random stream of one chunk: SFC64 seeded by its SeedSequence child."""
    return np.random.Generator(np.random.SFC64(seed_seq))


def _chunk_generator(seed: int, k: int = 0) -> np.random.Generator:
    """The stream of chunk ``k`` of ``loss_curves(..., seed=seed)`` (for path-by-path references)."""
    return _generator(par.chunk_seeds(seed, k + 1)[k])


def _simulate_chunk(method, lam, m0, sigma, sampler, lr, cycles, n, seed_seq, stop=True, bar=None):
    """Simulate ``n`` seeds of one chunk; returns ``(curves (n, cycles + 1), cycles simulated)``.

    ``stop``: return as soon as every seed of the chunk has diverged (``False`` keeps simulating
    the frozen runs, as the library did before, for tests).
    """
    rng = _generator(seed_seq)
    D, R, S, B = lam.size, method.R, method.S, method.B
    beta_in, beta_out, nu = method.beta_in, method.beta_out, method.nu
    sqrt_lam = np.sqrt(lam)
    e0 = rng.standard_normal((n, D))
    e0 *= np.sqrt(m0)
    # R = 1, nu = 1 and no outer momentum: the outer step returns the worker's iterate itself
    plain = R == 1 and nu == 1.0 and beta_out == 0.0
    er = e0[:, None, :] if plain else np.empty((n, R, D))
    rows = er.reshape(n * R, D)  # the workers' iterates, one per row (a view)
    g = np.empty_like(rows)
    w = np.empty_like(rows)
    u = np.zeros_like(rows) if beta_in else None
    delta = None if plain else np.empty((n, D))
    buf = np.zeros((n, D)) if beta_out else None
    scale = sqrt_lam / B if beta_in else lr * sqrt_lam / B  # what multiplies the sampled g
    compiled = _kernels()
    kernel = compiled[0] if compiled is not None and sampler == "fast" else None
    outer_kernel = compiled[1] if compiled is not None and not plain else None
    draw_step = compiled[3] if kernel is not None else None  # draws and step in one call
    sq = np.empty(n)  # sum_j lam_j e_j^2 from a compiled kernel (the loss)
    if kernel is not None:
        lr_vec = np.ascontiguousarray(np.broadcast_to(lr, (D,)), dtype=np.float64)
        scale = np.ascontiguousarray(np.broadcast_to(scale, (D,)), dtype=np.float64)
        u_k = u if u is not None else np.empty((0, D))
        no_sq = np.empty(0)
        chi2_B, a_k, rest_k = np.empty(n * R), np.empty(n * R), np.empty(n * R)  # the step's scalars
    if outer_kernel is not None:
        buf_k = buf if buf is not None else np.empty((0, D))
        mean = np.empty(D)
        np.copyto(er, e0[:, None, :])  # then the outer kernel starts each next cycle
    L0 = 0.5 * (lam @ m0 + sigma ** 2)
    limit = _base.divergence_limit(L0)
    out = np.full((n, cycles + 1), np.inf)
    diverged = np.zeros(n, dtype=bool)
    any_diverged = False
    done = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out[:, 0] = 0.5 * (np.einsum("ij,j,ij->i", e0, lam, e0) + sigma ** 2)
        for t in range(1, cycles + 1):
            if not plain and outer_kernel is None:
                np.copyto(er, e0[:, None, :])
            reset = beta_in and method.inner_momentum == "reset"
            if reset and kernel is None:
                u[...] = 0.0
            for k in range(S):
                if sampler == "naive":
                    g[...] = _minibatch_gradient(rows, lam, B, sigma, rng, sampler)
                    if not beta_in:
                        g *= lr
                elif kernel is not None:  # the draws of _draw_fast, in its order, then the step
                    draw_step(rng, rows, g, lam, sqrt_lam, scale, lr_vec, B, float(sigma), u_k,
                              0.0 if reset and k == 0 else beta_in, sq if plain else no_sq,
                              chi2_B, a_k, rest_k)
                    continue
                else:
                    _fast_gradient_into(g, rows, w, lam, sqrt_lam, B, sigma, rng, scale)
                if beta_in:
                    u *= beta_in
                    u += g
                    np.multiply(u, lr, out=g)
                rows -= g
            if outer_kernel is not None:
                outer_kernel(e0, er, buf_k, nu, beta_out, method.outer == "nesterov", lam, mean, sq)
            elif not plain:
                _outer_step(e0, er, delta, buf, nu, beta_out, method.outer)
            if (kernel is not None and plain) or outer_kernel is not None:
                loss = sq
                loss += sigma ** 2
                loss *= 0.5
            else:
                loss = 0.5 * (np.einsum("ij,j,ij->i", e0, lam, e0) + sigma ** 2)
            out[:, t] = loss
            done = t
            if bar is not None:
                bar.update(1)
            bad = ~(loss <= limit)  # above the limit or not finite
            if bad.any():
                diverged |= bad
                any_diverged = True
            if any_diverged:  # frozen at zero so they cannot overflow further
                e0[diverged] = 0.0
                for state in (buf, u.reshape(n, R, D) if u is not None else None,
                              er if outer_kernel is not None else None):
                    if state is not None:
                        state[diverged] = 0.0
                if stop and diverged.all():
                    if bar is not None:
                        bar.update(cycles - t)
                    break
        _base.mark_divergence(out, limit)
    return out, done


def _outer_step(e0, er, delta, buf, nu, b, outer):
    """In place on the global error ``e0`` from the workers' ``er``, EMA-convention momentum.

    ``Delta = e0 - mean_r er``. Heavy ball: ``v <- b v + (1-b) Δ``, ``e0 <- e0 - nu v``.
    Nesterov: ``v <- b v + (1-b) Δ``, ``e0 <- e0 - nu (b v + (1-b) Δ)``. With ``b = 0`` both are
    ``e0 <- e0 - nu Δ`` (LA-DiLoCo). ``delta`` is scratch; ``er`` is overwritten.
    """
    if er.shape[1] == 1:
        np.subtract(e0, er[:, 0, :], out=delta)
    else:
        np.mean(er, axis=1, out=delta)
        np.subtract(e0, delta, out=delta)
    spare = er[:, 0, :]
    if b == 0.0:
        delta *= nu
        e0 -= delta
        return
    delta *= 1.0 - b
    buf *= b
    buf += delta
    if outer == "nesterov":
        np.multiply(buf, b, out=spare)
        spare += delta
        spare *= nu
        e0 -= spare
    else:
        np.multiply(buf, nu, out=delta)
        e0 -= delta


def seeds_per_chunk(D: int, R: int = 1, B: int = 1, sampler: str = "fast") -> int:
    """Seeds simulated together in one chunk of :func:`loss_curves`: fixed by the problem.

    About :data:`CHUNK_ENTRIES` numbers per ``(seeds, R, D)`` array (``(seeds, R, B, D)`` for the
    naive sampler), so a chunk's working set stays in a core's cache; at least one seed.

    >>> seeds_per_chunk(400), seeds_per_chunk(3200, R=4), seeds_per_chunk(10 ** 6)
    (163, 5, 1)
    """
    D = v.positive_int("D", D)
    R = v.positive_int("R", R)
    B = v.positive_int("B", B)
    v.choice("sampler", sampler, SAMPLERS)
    return max(1, CHUNK_ENTRIES // (R * D * (B if sampler == "naive" else 1)))
