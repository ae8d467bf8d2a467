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
``exp`` from the C library, as numpy calls it on CPUs without AVX-512 - a first-use check
(:func:`kernels`) compares it with ``numpy.exp`` and keeps the numpy code if they differ.
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
            if C < 8:
                se = 0.0
                for j in range(C):
                    se = se + zi[j]
            else:
                s0, s1, s2, s3 = zi[0], zi[1], zi[2], zi[3]
                s4, s5, s6, s7 = zi[4], zi[5], zi[6], zi[7]
                top = C - C % 8
                for t in range(8, top, 8):
                    s0 = s0 + zi[t]
                    s1 = s1 + zi[t + 1]
                    s2 = s2 + zi[t + 2]
                    s3 = s3 + zi[t + 3]
                    s4 = s4 + zi[t + 4]
                    s5 = s5 + zi[t + 5]
                    s6 = s6 + zi[t + 6]
                    s7 = s7 + zi[t + 7]
                se = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
                for t in range(top, C):
                    se = se + zi[t]
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


def _exp_all(x, out):
    for q in range(x.size):
        out[q] = np.exp(x[q])


# ---------------------------------------------------------------------------- compiling
_LOCK = threading.Lock()
_KERNELS = None        # None: not tried; a dict of compiled functions, or False
_NAMES = ("bias", "softmax_delta", "colsum", "dtanh", "decay")


def _compile():
    import numba

    jit = numba.njit(error_model="numpy", nogil=True, cache=True)   # no fastmath: IEEE as written
    k = {name: jit(globals()["_" + name]) for name in _NAMES}
    return k if _exp_agrees(jit(_exp_all)) else False


def _exp_agrees(exp_all) -> bool:
    """Whether the compiled ``exp`` gives numpy's bits on the arguments a softmax sees
    (``z - max <= 0``, down to underflow) and at the special values."""
    rng = np.random.default_rng(2024)
    x = np.concatenate([-np.abs(rng.standard_normal(20_000)) * s for s in (0.01, 1.0, 10.0, 100.0)]
                       + [np.array([0.0, -0.0, -np.inf, -745.2, -708.4, -1e-300, 1.0, 2.5])])
    out = np.empty_like(x)
    exp_all(x, out)
    return bool(np.array_equal(out, np.exp(x)))


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
