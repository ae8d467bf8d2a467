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
a column sum over the batch from the first row in turn); the tanh of :mod:`twophase.local._tanh`;
``exp`` and ``log`` from the C library, as numpy calls them on CPUs without AVX-512 - a
first-use check (:func:`kernels`) compares them with numpy's and keeps the numpy code if they
differ. The train loss's per-sample cross-entropies and their per-shard means (numpy's
pairwise sum) are one more loop.
``TWOPHASE_ENGINE=numpy`` (or no numba) keeps the numpy code. Tests compare the two.
"""
from __future__ import annotations

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


def _softmax_delta(z, y, fB):
    """``z (N, B, C)`` -> ``(softmax(z) - e_y) / B`` in place, numpy's operations:
    ``e = exp(z - max)``, ``e / sum(e)``, ``-1`` at the label, ``/ B``. Rows of at most 128
    classes (numpy's pairwise sum is one block there)."""
    N, B, C = z.shape
    for w in range(N):
        for i in range(B):
            zi = z[w, i]
            zmax = zi[0]
            for j in range(1, C):
                v = zi[j]
                if v > zmax or v != v:     # a NaN propagates, as in numpy's max
                    zmax = v
                if zmax != zmax:
                    break
            for j in range(C):
                zi[j] = np.exp(zi[j] - zmax)
            se = _pw_block(zi, 0, C)   # numpy's sum of one row (C <= 128: one block)
            for j in range(C):
                zi[j] = zi[j] / se
            c = y[w, i]
            zi[c] = zi[c] - 1.0
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


def _shard_nll_means(z, y, idx, offs, nll, tmp, out):
    """``out[r, m]`` = mean over shard m of run r of the per-sample cross-entropy of the logits
    ``z (R, n, C)`` at the labels ``y (n,)``: ``-((z_y - max) - log(sum exp(z - max)))`` per
    sample as :meth:`MLP._nll` forms it, then ``nll[r, shard].mean()`` (numpy's pairwise sum
    of the shard's values in shard order, divided by the shard's size). Shard m of run r is
    ``idx[r, offs[r, m]:offs[r, m + 1]]``; ``nll (n,)`` and ``tmp (n,)`` are scratch."""
    R, n, C = z.shape
    M = out.shape[1]
    frames = np.zeros((64, 3), dtype=np.int64)
    vals = np.zeros(64)
    for r in range(R):
        for i in range(n):
            zi = z[r, i]
            zmax = zi[0]
            for j in range(1, C):
                v = zi[j]
                if v > zmax or v != v:
                    zmax = v
                if zmax != zmax:
                    break
            if C < 8:
                se = 0.0
                for j in range(C):
                    se = se + np.exp(zi[j] - zmax)
            else:
                s0 = np.exp(zi[0] - zmax)
                s1 = np.exp(zi[1] - zmax)
                s2 = np.exp(zi[2] - zmax)
                s3 = np.exp(zi[3] - zmax)
                s4 = np.exp(zi[4] - zmax)
                s5 = np.exp(zi[5] - zmax)
                s6 = np.exp(zi[6] - zmax)
                s7 = np.exp(zi[7] - zmax)
                top = C - C % 8
                for t in range(8, top, 8):
                    s0 = s0 + np.exp(zi[t] - zmax)
                    s1 = s1 + np.exp(zi[t + 1] - zmax)
                    s2 = s2 + np.exp(zi[t + 2] - zmax)
                    s3 = s3 + np.exp(zi[t + 3] - zmax)
                    s4 = s4 + np.exp(zi[t + 4] - zmax)
                    s5 = s5 + np.exp(zi[t + 5] - zmax)
                    s6 = s6 + np.exp(zi[t + 6] - zmax)
                    s7 = s7 + np.exp(zi[t + 7] - zmax)
                se = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
                for t in range(top, C):
                    se = se + np.exp(zi[t] - zmax)
            d = zi[y[i]] - zmax
            d = d - np.log(se)
            nll[i] = -d
        for m in range(M):
            a, b = offs[r, m], offs[r, m + 1]
            for q in range(a, b):
                tmp[q - a] = nll[idx[r, q]]
            out[r, m] = _pairwise(tmp, 0, b - a, frames, vals) / (b - a)


def _exp_all(x, out):
    for q in range(x.size):
        out[q] = np.exp(x[q])


def _log_all(x, out):
    for q in range(x.size):
        out[q] = np.log(x[q])


# ---------------------------------------------------------------------------- compiling
_LOCK = threading.Lock()
_KERNELS = None        # None: not tried; a dict of compiled functions, or False
_NAMES = ("bias", "softmax_delta", "colsum", "dtanh", "decay", "shard_nll_means")


def _compile():
    import numba

    jit = numba.njit(error_model="numpy", nogil=True, cache=True)   # no fastmath: IEEE as written
    g = globals()
    for name in ("_pw_block", "_pairwise"):
        g[name] = jit(g[name])
    k = {name: jit(g["_" + name]) for name in _NAMES}
    return k if _libm_agrees(jit(_exp_all), jit(_log_all)) else False


def _libm_agrees(exp_all, log_all) -> bool:
    """Whether the compiled ``exp`` and ``log`` give numpy's bits on the arguments a softmax and
    a cross-entropy see (``z - max <= 0`` down to underflow; sums of exponentials in [1, C])
    and at the special values."""
    rng = np.random.default_rng(2024)
    x = np.concatenate([-np.abs(rng.standard_normal(20_000)) * s for s in (0.01, 1.0, 10.0, 100.0)]
                       + [np.array([0.0, -0.0, -np.inf, -745.2, -708.4, -1e-300, 1.0, 2.5])])
    u = np.concatenate([1.0 + rng.random(40_000) * 200.0, np.array([1.0, 0.0, np.inf, 1e-300, 5e-324, 2.0])])
    out, lo = np.empty_like(x), np.empty_like(u)
    exp_all(x, out)
    log_all(u, lo)
    with np.errstate(divide="ignore"):
        return bool(np.array_equal(out, np.exp(x)) and np.array_equal(lo, np.log(u)))


def kernels():
    """The compiled loops (a dict), or False: numba missing, ``TWOPHASE_ENGINE=numpy``, or its
    ``exp`` not numpy's on this machine."""
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
