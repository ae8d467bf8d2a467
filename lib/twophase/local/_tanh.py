r"""The hyperbolic tangent of the MLP's hidden layers, in place, vectorised (private).

numpy's ``tanh`` on float64 is a scalar libm call per element on CPUs without AVX-512 (about
12-17 ns here), and it was the largest single cost of chapter 7's gradients and full-data losses.
This module computes

.. math:: \tanh x = \operatorname{sign}(x)\,\frac{e_1}{e_1 + 2},\qquad e_1 = \operatorname{expm1}(2|x|),

with ``expm1`` by the usual reduction :math:`2|x| = k\ln 2 + r`, :math:`|r|\le\ln 2/2`
(Cody-Waite split of :math:`\ln 2`), a degree-14 Taylor polynomial for :math:`\operatorname{expm1}(r)`
and :math:`e_1 = 2^k\operatorname{expm1}(r) + (2^k - 1)`; :math:`|x|` is capped at 22, past which
:math:`\tanh` is 1 in double precision. Every step is a plain IEEE operation (no fused
multiply-add, no reassociation), so the compiled loop (numba, when installed) and the numpy
formula below give the same bits; the tests check that, and the error against the C library's
``tanh`` (at most 4 units in the last place, median 0, over 2.4 million points up to 25;
numpy's own ``tanh`` differs from the C library's by up to 3 here).
``TWOPHASE_ENGINE=numpy`` keeps the numpy formula.

Written for this project from the textbook reduction (Muller, *Elementary Functions*, ch. 11;
the two-part :math:`\ln 2` constants as in fdlibm).
"""
from __future__ import annotations

import math
import threading

import numpy as np

__all__: list[str] = []

_LN2_HI = 6.93147180369123816490e-01   # high part of ln 2: k * _LN2_HI is exact for k < 2**11
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_ROUND = 6755399441055744.0            # 1.5 * 2**52: (v + _ROUND) - _ROUND rounds v to an integer
_CAP = 22.0
#: Taylor coefficients 1/n! of expm1, n = 2 .. 14 (Horner from the highest)
_COEF = tuple(1.0 / math.factorial(n) for n in range(2, 15))
#: 2**(2**b) for the bits b of k (k <= 64 since 2 |x| <= 44)
_BITS = tuple((float(2 ** b), 2.0 ** (2 ** b)) for b in range(6, -1, -1))
_BLOCK = 256


def _reduce_np(x):
    """``(p, k)``: ``expm1(r)`` and ``k`` for ``2 |x| = k ln2 + r`` (numpy, elementwise)."""
    a = np.minimum(np.abs(x), _CAP)          # NaN stays NaN
    y = a + a
    k = (y * _INV_LN2 + _ROUND) - _ROUND
    r = (y - k * _LN2_HI) - k * _LN2_LO
    p = np.full_like(r, _COEF[-1])
    for c in reversed(_COEF[:-1]):
        p = p * r + c
    return r + (r * r) * p, k


def _finish_np(x, p, k):
    s = np.ones_like(k)
    for thr, mult in _BITS:
        big = k >= thr
        s = np.where(big, s * mult, s)
        k = np.where(big, k - thr, k)
    em = s * p + (s - 1.0)
    return np.copysign(em / (em + 2.0), x)


def tanh_numpy(z: np.ndarray) -> None:
    """``z <- tanh(z)`` in place, by the numpy formula."""
    p, k = _reduce_np(z)
    z[...] = _finish_np(z, p, k)


# The compiled path: the numpy formula above written per element (constants spelled out, as
# numba needs them; a test checks they equal _COEF), with 2**k formed from its bits (the same
# number as the product of _BITS, exactly: powers of two). Four loops per block of 256
# elements so that each one vectorizes.
def _reduce_one(x):
    a = abs(x)
    a = a if a < 22.0 else (22.0 if a >= 22.0 else a)   # the cap; NaN stays NaN
    y = a + a
    k = (y * 1.4426950408889634 + 6755399441055744.0) - 6755399441055744.0
    r = (y - k * 0.6931471803691238) - k * 1.9082149292705877e-10
    p = 1.1470745597729725e-11  # 1/14!
    p = p * r + 1.6059043836821613e-10  # 1/13!
    p = p * r + 2.08767569878681e-09  # 1/12!
    p = p * r + 2.505210838544172e-08  # 1/11!
    p = p * r + 2.755731922398589e-07  # 1/10!
    p = p * r + 2.7557319223985893e-06  # 1/9!
    p = p * r + 2.48015873015873e-05  # 1/8!
    p = p * r + 0.0001984126984126984  # 1/7!
    p = p * r + 0.001388888888888889  # 1/6!
    p = p * r + 0.008333333333333333  # 1/5!
    p = p * r + 0.041666666666666664  # 1/4!
    p = p * r + 0.16666666666666666  # 1/3!
    p = p * r + 0.5  # 1/2!
    return r + (r * r) * p, k


def _tanh_flat(z, kb, xb, ib):
    n = z.size
    fb = ib.view(np.float64)
    for j0 in range(0, n, 256):
        m = min(256, n - j0)
        zz = z[j0:j0 + m]
        for i in range(m):
            xb[i] = zz[i]
        for i in range(m):
            p, k = _reduce_one(xb[i])
            kb[i] = k
            zz[i] = p
        for i in range(m):        # 2**k, exactly: its bits (0 <= k <= 64)
            ib[i] = (np.int64(kb[i]) + 1023) << 52
        for i in range(m):
            s = fb[i]
            em = s * zz[i] + (s - 1.0)
            zz[i] = math.copysign(em / (em + 2.0), xb[i])


def _bias_tanh_rows(z, theta, off, rows, kb, xb, ib, bb):
    """``z[w, :rows] <- tanh(z[w, :rows] + theta[w, off:off + n])`` for ``z (N, T, n)``, the
    bias added as the first step of :func:`_tanh_flat`'s loop (``z + b`` rounded, then the
    same operations); rows past ``rows`` are left as they are. Blocks of whole rows (at most
    256 entries, ``n <= 256``), so that one tiled copy of the bias (``bb``) lines up with
    every block."""
    N, T, n = z.shape
    blk = (256 // n) * n
    fb = ib.view(np.float64)
    total = rows * n
    for w in range(N):
        for i in range(blk):
            bb[i] = theta[w, off + i % n]
        zw = z[w].reshape(-1)
        for j0 in range(0, total, blk):
            m = min(blk, total - j0)
            zz = zw[j0:j0 + m]
            for i in range(m):
                xb[i] = zz[i] + bb[i]
            for i in range(m):
                p, k = _reduce_one(xb[i])
                kb[i] = k
                zz[i] = p
            for i in range(m):
                ib[i] = (np.int64(kb[i]) + 1023) << 52
            for i in range(m):
                s = fb[i]
                em = s * zz[i] + (s - 1.0)
                zz[i] = math.copysign(em / (em + 2.0), xb[i])


_LOCK = threading.Lock()
_COMPILED = None   # None: not tried; then the compiled function, or False (numba missing)
_BIAS = None       # the compiled _bias_tanh_rows, once _compiled() has run


def _compiled():
    global _COMPILED
    if _COMPILED is None:
        with _LOCK:
            if _COMPILED is None:
                try:
                    import numba
                except ImportError:
                    _COMPILED = False
                else:
                    # no fastmath: every operation rounds as in the numpy formula
                    jit = numba.njit(error_model="numpy", nogil=True, cache=True)
                    g = globals()
                    g["_reduce_one"] = jit(g["_reduce_one"])
                    g["_BIAS"] = jit(_bias_tanh_rows)
                    _COMPILED = jit(_tanh_flat)
    return _COMPILED


def _backend() -> str:
    import os

    want = os.environ.get("TWOPHASE_ENGINE", "auto").strip() or "auto"
    return "numpy" if want == "numpy" else "compiled"


def tanh_(z: np.ndarray) -> np.ndarray:
    """``z <- tanh(z)`` in place (a C-contiguous float64 array) and return ``z``."""
    kern = _compiled() if _backend() == "compiled" else False
    if kern and z.flags.c_contiguous and z.dtype == np.float64:
        kern(z.reshape(-1), np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK, dtype=np.int64))
    else:
        tanh_numpy(z)
    return z


def bias_tanh_(z: np.ndarray, theta: np.ndarray, off: int, rows: int | None = None) -> bool:
    """``z[w, :rows] <- tanh(z[w, :rows] + theta[w, off:off + n])`` in place by the compiled
    loop, for ``z (N, T, n)`` and ``theta (N, P)`` (C-contiguous float64, ``n <= 256``):
    the numbers of ``z += b; tanh_(z)`` on those rows. Returns False, doing nothing, where the
    compiled loop does not apply (numba missing, ``TWOPHASE_ENGINE=numpy``, other arrays):
    the caller then adds and calls :func:`tanh_`."""
    kern = _compiled() if _backend() == "compiled" else False
    if not (kern and z.ndim == 3 and theta.ndim == 2 and z.shape[0] == theta.shape[0]
            and 1 <= z.shape[2] <= _BLOCK and off + z.shape[2] <= theta.shape[1]
            and z.dtype == np.float64 and theta.dtype == np.float64
            and z.flags.c_contiguous and theta.flags.c_contiguous):
        return False
    rows = z.shape[1] if rows is None else rows
    if not 0 <= rows <= z.shape[1]:
        raise ValueError(f"rows must lie in [0, {z.shape[1]}], got {rows}")
    _BIAS(z, theta, int(off), int(rows), np.empty(_BLOCK), np.empty(_BLOCK), np.empty(_BLOCK, dtype=np.int64),
          np.empty(_BLOCK))
    return True
