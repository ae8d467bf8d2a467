r"""Compiled elementwise passes of the MLP's mini-batch gradient (private).

:meth:`twophase.local.nn.MLP._loss_grad_into` is a few small matrix products per worker (BLAS,
through numpy) and, between them, elementwise passes: the bias and tanh, the softmax and its
cross-entropy delta (a max, an exp, a sum, a division, the label's -1, the division by the
batch), the bias gradients (column sums), the tanh derivative and the weight decay. In numpy
each of these walks all workers' arrays once or more, through temporaries and fancy indexing,
and together they took about half of the gradient's time (chapter 7: 40 workers, batch 32,
64-32-10). The loops here do each in one pass.

Same numbers, bit for bit: every step is the same IEEE operation, in the same order, as in
numpy: no fused multiply-add, no reassociation (compiled without fast-math); sums in numpy's
order (a contiguous row of at most 128 entries by numpy's pairwise sum with 8 partial sums;
a column sum over the batch from the first row in turn); the tanh of :mod:`twophase.local._tanh`.
``exp`` and ``log`` are numpy's own, called on the whole array between two compiled passes:
numpy has its own vectorised ``exp`` and ``log`` on CPUs with AVX-512 (this machine), which
differ from the C library's (what a compiled loop calls) in the last bit, so a compiled ``exp``
would not give numpy's numbers everywhere. The train loss's per-sample cross-entropies and
their per-shard means (numpy's pairwise sum) are compiled loops around numpy's ``exp`` and
``log`` too, and a local step's weight decay and scaled update one more (:func:`_decay_step`).
``TWOPHASE_ENGINE=numpy`` (or no numba) keeps the numpy code. Tests compare the two.
"""
from __future__ import annotations

import math
import os
import threading

import numpy as np

from . import _tanh

__all__: list[str] = []


# ---------------------------------------------------------------------------- the loops
# Plain Python over C-contiguous arrays, written for numba.
def _bias(z, theta, off):
    """``z[w] += theta[w, off:off + n]`` for ``z (N, B, n)``."""
    N, B, n = z.shape
    for w in range(N):
        for i in range(B):
            zi = z[w, i]
            for j in range(n):
                zi[j] = zi[j] + theta[w, off + j]


def _softmax_finish(e, y, fB, inv):
    """``e (N, B, C)`` holding ``exp(z - max)`` -> ``(e / sum(e) - e_y) / B`` in place, numpy's
    operations: the row sum (numpy's pairwise sum; rows of at most 128 classes are one block),
    the division, ``-1`` at the label, the division by the batch. ``inv`` is ``1 / fB`` if
    ``fB`` is a power of two (else 0): then ``x * inv`` is ``x / fB`` exactly (both are the
    rounded ``x 2^-k``, signed zeros, subnormals and infinities included) and cheaper."""
    N, B, C = e.shape
    for w in range(N):
        for i in range(B):
            zi = e[w, i]
            se = _pw_block(zi, 0, C)
            for j in range(C):
                zi[j] = zi[j] / se
            c = y[w, i]
            zi[c] = zi[c] - 1.0
            if inv != 0.0:
                for j in range(C):
                    zi[j] = zi[j] * inv
            else:
                for j in range(C):
                    zi[j] = zi[j] / fB


def _colsum(d, G, off):
    """``G[w, off:off + n] = d[w].sum(axis=0)`` for ``d (N, B, n)``, from the first row in turn."""
    N, B, n = d.shape
    for w in range(N):
        for j in range(n):
            G[w, off + j] = d[w, 0, j]
        for i in range(1, B):
            di = d[w, i]
            for j in range(n):
                G[w, off + j] = G[w, off + j] + di[j]


def _dtanh(back, h):
    """``back *= 1 - h * h`` (the square rounded first, as numpy forms it)."""
    b = back.reshape(-1)
    hh = h.reshape(-1)
    for q in range(b.size):
        sq = hh[q] * hh[q]
        sq = 1.0 - sq
        b[q] = b[q] * sq


def _decay(G, theta, wd):
    """``G += wd * theta`` (the product rounded first)."""
    g = G.reshape(-1)
    t = theta.reshape(-1)
    for q in range(g.size):
        g[q] = g[q] + wd * t[q]


def _decay_step(X, G, De, g, wd):
    """One local step in place, per element: ``G += wd * X`` (if ``wd``), then
    ``X -= (G / De) * g``, the operations of ``np.divide(G, De, out=step); step *= g; X -= step``.
    ``X, G (R, M, d)``, ``De (R, 1, d)`` (one diagonal per run) or ``(R, M, d)``, ``g (R,)``."""
    R, M, d = X.shape
    per = De.shape[1] > 1
    for r in range(R):
        gr = g[r]
        for m in range(M):
            xr = X[r, m]
            gq = G[r, m]
            dr = De[r, m] if per else De[r, 0]
            if wd != 0.0:       # two loops over the row, each with one store: both vectorize
                for j in range(d):
                    gq[j] = gq[j] + wd * xr[j]
            for j in range(d):
                xr[j] = xr[j] - (gq[j] / dr[j]) * gr


def _sample_rows(U, sizes, offsets, orders, out):
    """``out[r, m, i] = orders[offsets[r, m] + min(int(U[r, m, i] * sizes[r, m]), sizes[r, m] - 1)]``:
    the arithmetic of :meth:`~twophase.local.problems._Sharded.sample` (the product in float64,
    truncated to an integer, capped at the shard's last row)."""
    R, M, b = U.shape
    for r in range(R):
        for m in range(M):
            s = sizes[r, m]
            fs = np.float64(s)
            base = offsets[r, m]
            for i in range(b):
                loc = np.int64(U[r, m, i] * fs)
                if loc > s - 1:
                    loc = s - 1
                out[r, m, i] = orders[base + loc]


def _gather(a, y, rows, A, Y):
    """``A[q] = a[rows[q]]`` and ``Y[q] = y[rows[q]]`` (the mini-batch's inputs and labels)."""
    n_in = a.shape[1]
    for q in range(rows.size):
        k = rows[q]
        for j in range(n_in):
            A[q, j] = a[k, j]
        Y[q] = y[k]


def _pw_block(a, lo, n):
    """numpy's pairwise sum of ``a[lo:lo + n]`` for n <= 128: in turn below 8, else 8 partial
    sums combined as a tree, then the rest in turn."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res = res + a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    top = n - n % 8
    for i in range(8, top, 8):
        q = lo + i
        r0 = r0 + a[q]
        r1 = r1 + a[q + 1]
        r2 = r2 + a[q + 2]
        r3 = r3 + a[q + 3]
        r4 = r4 + a[q + 4]
        r5 = r5 + a[q + 5]
        r6 = r6 + a[q + 6]
        r7 = r7 + a[q + 7]
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(top, n):
        res = res + a[lo + i]
    return res


def _pairwise(a, lo, n, frames, vals):
    """numpy's pairwise sum of ``a[lo:lo + n]`` (contiguous float64): :func:`_pw_block` up to
    128 entries, above that the sum of the two halves (the first rounded down to a multiple
    of 8), as numpy recurses; here with an explicit stack (``frames (64, 3)`` int64, ``vals
    (64,)``), since numba's cache does not keep recursive functions safely."""
    if n <= 128:
        return _pw_block(a, lo, n)
    top = 1
    nv = 0
    frames[0, 0], frames[0, 1], frames[0, 2] = lo, n, 0
    while top > 0:
        f = top - 1
        flo, fn, phase = frames[f, 0], frames[f, 1], frames[f, 2]
        if fn <= 128:
            vals[nv] = _pw_block(a, flo, fn)
            nv += 1
            top -= 1
            continue
        n2 = fn // 2
        n2 -= n2 % 8
        if phase == 0:
            frames[f, 2] = 1
            frames[top, 0], frames[top, 1], frames[top, 2] = flo, n2, 0
            top += 1
        elif phase == 1:
            frames[f, 2] = 2
            frames[top, 0], frames[top, 1], frames[top, 2] = flo + n2, fn - n2, 0
            top += 1
        else:
            vals[nv - 2] = vals[nv - 2] + vals[nv - 1]
            nv -= 1
            top -= 1
    return vals[0]


def _row_shift_into(z, zmax, e):
    """``zmax[r, i] = max(z[r, i])`` and ``e[r, i] = z[r, i] - zmax[r, i]`` for ``z (R, n, C)``
    (``e`` may be ``z``: in place; a NaN propagates to the max, as in numpy's)."""
    R, n, C = z.shape
    for r in range(R):
        for i in range(n):
            zi = z[r, i]
            ei = e[r, i]
            zm = zi[0]
            for j in range(1, C):
                v = zi[j]
                if v > zm or v != v:
                    zm = v
                if zm != zm:
                    break
            zmax[r, i] = zm
            for j in range(C):
                ei[j] = zi[j] - zm


def _row_sums(e, se):
    """``se[r, i] = e[r, i].sum()`` (numpy's pairwise sum, rows of at most 128)."""
    R, n, C = e.shape
    for r in range(R):
        for i in range(n):
            se[r, i] = _pw_block(e[r, i], 0, C)


def _shard_nll_means(z, zmax, lse, y, idx, offs, nll, tmp, out):
    """``out[r, m]`` = mean over shard m of run r of the per-sample cross-entropy of the logits
    ``z (R, n, C)`` at the labels ``y (n,)``: ``-((z_y - max) - log(sum exp(z - max)))`` per
    sample as :meth:`MLP._nll` forms it (``zmax (R, n)`` the row maxima, ``lse (R, n)`` numpy's
    ``log`` of the row sums), then ``nll[r, shard].mean()`` (numpy's pairwise sum of the
    shard's values in shard order, divided by the shard's size). Shard m of run r is
    ``idx[r, offs[r, m]:offs[r, m + 1]]``; ``nll (n,)`` and ``tmp (n,)`` are scratch."""
    R, n, C = z.shape
    M = out.shape[1]
    frames = np.zeros((64, 3), dtype=np.int64)
    vals = np.zeros(64)
    for r in range(R):
        for i in range(n):
            d = z[r, i, y[i]] - zmax[r, i]
            d = d - lse[r, i]
            nll[i] = -d
        for m in range(M):
            a, b = offs[r, m], offs[r, m + 1]
            for q in range(a, b):
                tmp[q - a] = nll[idx[r, q]]
            out[r, m] = _pairwise(tmp, 0, b - a, frames, vals) / (b - a)


# ---------------------------------------------------------------------------- compiling
_LOCK = threading.Lock()
_KERNELS = None        # None: not tried; a dict of compiled functions, or False
_NAMES = ("bias", "softmax_finish", "colsum", "dtanh", "decay", "decay_step",
          "row_shift_into", "row_sums", "shard_nll_means", "sample_rows", "gather")


def _compile():
    import numba

    jit = numba.njit(error_model="numpy", nogil=True, cache=True)   # no fastmath: IEEE as written
    g = globals()
    for name in ("_pw_block", "_pairwise"):
        g[name] = jit(g[name])
    return {name: jit(g["_" + name]) for name in _NAMES}


def pow2_inverse(f: float) -> float:
    """``1 / f`` if ``f`` is a positive power of two whose inverse is a normal number (then
    dividing by ``f`` and multiplying by ``1 / f`` round alike), else 0."""
    m, _ = math.frexp(f)
    inv = 1.0 / f if f > 0 and m == 0.5 else 0.0
    return inv if inv >= 2.2250738585072014e-308 and inv * f == 1.0 else 0.0


def kernels():
    """The compiled loops (a dict), or False: numba missing or ``TWOPHASE_ENGINE=numpy``."""
    global _KERNELS
    if (os.environ.get("TWOPHASE_ENGINE", "auto").strip() or "auto") == "numpy":
        return False
    if _KERNELS is None:
        with _LOCK:
            if _KERNELS is None:
                try:
                    _KERNELS = _compile()
                except ImportError:
                    _KERNELS = False
    return _KERNELS
