r"""A small multilayer perceptron in numpy with hand-written backprop.

Workers are the leading axis: parameters are a flat array ``(M, P)``, inputs
``(M, b, n_in)`` and labels ``(M, b)``, so one call evaluates the M workers'
mini-batch losses and gradients with batched matrix products.

Architecture: ``sizes = (n_in, h_1, ..., n_out)``, tanh hidden layers, linear
output, softmax cross-entropy loss

.. math:: \ell(\theta; a, y) = -\log \mathrm{softmax}(z_L)_y,\qquad
   z_{l+1} = W_l^\top h_l + b_l,\; h_{l+1}=\tanh(z_{l+1}).

Backprop: :math:`\delta_L = \mathrm{softmax}(z_L)-e_y`,
:math:`\partial W_l = h_l\delta_{l+1}^\top`, :math:`\partial b_l=\delta_{l+1}`,
:math:`\delta_l = (W_l\delta_{l+1})\odot(1-h_l^2)`, all averaged over the
batch. Tests check the gradient against central finite differences. The tanh is
:func:`twophase.local._tanh.tanh_` (within 4 units in the last place of libm's ``tanh``, about 3x
faster; the same bits compiled or in numpy), in every path, so all paths agree bit for bit.
"""
from __future__ import annotations

import threading

import numpy as np

from ._checks import boolean, positive_int, real_array, seed_int
from . import _mlp_kernel
from ._tanh import bias_tanh_, tanh_

__all__ = ["MLP"]


class MLP:
    """Flat-parameter tanh MLP with softmax cross-entropy.

    Parameters
    ----------
    sizes : tuple of int, at least two entries (input, ..., output).
    """

    def __init__(self, sizes=(64, 32, 10)):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError(f"sizes must be a tuple of integers >= 1, got {sizes!r}")
        sizes = tuple(positive_int(f"sizes[{i}]", s) for i, s in enumerate(sizes))
        if len(sizes) < 2:
            raise ValueError(f"sizes must have at least 2 entries (input, output); got {sizes}")
        self.sizes = sizes
        self._shapes = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            self._shapes.append((n_in, n_out))
        self.n_params = sum(i * o + o for i, o in self._shapes)
        if self.n_params > 10 ** 7:
            raise ValueError(f"sizes {sizes} give {self.n_params} parameters, more than the allowed 10**7")

    def __getstate__(self):
        """Pickle the network, not its per-thread scratch arrays or padded data (rebuilt on use)."""
        return {k: val for k, val in self.__dict__.items() if k not in ("_tls", "_pad_cache")}

    def _work(self, key, shape) -> np.ndarray:
        """A scratch array of ``shape`` kept for reuse by this thread, under ``key``.

        The hot paths run thousands of times on arrays of a few hundred kB; a fresh array of
        that size is new memory from the system on every call, and its page faults cost more
        than the arithmetic. Reusing one buffer per key changes no number: every operation is
        the same, only where its result is written differs. Threads get their own buffers.
        """
        tls = self.__dict__.get("_tls")
        if tls is None:
            tls = self.__dict__.setdefault("_tls", threading.local())
        store = getattr(tls, "store", None)
        if store is None:
            store = tls.store = {}
        arr = store.get(key)
        if arr is None or arr.shape != shape:
            arr = store[key] = np.empty(shape)
        return arr

    def init(self, rng) -> np.ndarray:
        """Glorot-style init: W ~ N(0, 1/n_in), b = 0. Returns ``(P,)``."""
        if not (rng is None or isinstance(rng, np.random.Generator)):
            rng = seed_int("rng", rng)
        rng = np.random.default_rng(rng)
        parts = []
        for n_in, n_out in self._shapes:
            parts.append((rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).ravel())
            parts.append(np.zeros(n_out))
        return np.concatenate(parts)

    def unpack(self, theta):
        """Views ``[(W, b), ...]`` with a leading worker axis: W ``(M, i, o)``."""
        theta = np.atleast_2d(theta)
        if theta.ndim != 2 or theta.shape[1] != self.n_params:
            raise ValueError(f"theta must have shape (M, {self.n_params}) or ({self.n_params},), got {np.shape(theta)}")
        M = theta.shape[0]
        out, k = [], 0
        for n_in, n_out in self._shapes:
            W = theta[:, k:k + n_in * n_out].reshape(M, n_in, n_out)
            k += n_in * n_out
            b = theta[:, k:k + n_out]
            k += n_out
            out.append((W, b))
        return out

    def logits(self, theta, A):
        """Forward pass; ``theta (M, P)``, ``A (M, b, n_in)`` -> ``(M, b, n_out)``."""
        h = A
        layers = self.unpack(theta)
        for li, (W, b) in enumerate(layers):
            z = np.matmul(h, W) + b[:, None, :]
            h = tanh_(z) if li < len(layers) - 1 else z
        return h

    def loss_grad(self, theta, A, y, need_grad: bool = True):
        """Mean cross-entropy per worker and its gradient.

        Returns ``(loss (M,), grad (M, P))`` (``grad`` is None if not needed).
        """
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        A = np.asarray(A)
        if A.ndim != 3 or A.dtype.kind not in "iuf" or theta.dtype.kind != "f":
            raise ValueError(f"A must be a real array of shape (M, b, {self.sizes[0]}), got {A.shape} {A.dtype}")
        y = np.asarray(y)
        if y.dtype.kind not in "iu" or y.shape != A.shape[:2] or y.min() < 0 or y.max() >= self.sizes[-1]:
            raise ValueError(f"y must be integers in [0, {self.sizes[-1] - 1}] of shape {A.shape[:2]}")
        if A.shape[2] != self.sizes[0] or A.shape[0] != theta.shape[0]:
            raise ValueError(f"A must have shape ({theta.shape[0]}, b, {self.sizes[0]}), got {A.shape}")
        need_grad = boolean("need_grad", need_grad)
        return self._loss_grad(theta, A, y, need_grad)

    def _forward(self, theta, A):
        """Layer outputs ``[A, h_1, ..., z_L]`` for ``theta (N, P)``; ``A`` is ``(N, b, n_in)`` or
        ``(1, b, n_in)`` (the same inputs for every parameter vector)."""
        hs, h = [A], A
        layers = self.unpack(theta)
        for li, (W, b) in enumerate(layers):
            z = np.matmul(h, W) + b[:, None, :]
            h = tanh_(z) if li < len(layers) - 1 else z
            hs.append(h)
        return hs, layers

    #: rows per matrix product when one parameter vector meets a whole data set: 128 rows x 64
    #: inputs x 32 outputs is at OpenBLAS's threshold for one thread (m n k <= 4 * 65536), so
    #: full-data passes never start BLAS threads, which cost more than they save on a loaded
    #: machine at these sizes; each row's numbers are the same however the rows are grouped.
    _CHUNK = 128

    def _padded(self, features):
        """``features`` with zero rows up to a multiple of :attr:`_CHUNK`, as ``(1, J, chunk, n_in)``
        (kept for the last few data sets seen: the same train and test sets come every round)."""
        cache = self.__dict__.setdefault("_pad_cache", [])
        for f, padded in cache:
            if f is features:
                return padded
        n, n_in = features.shape
        J = -(-n // self._CHUNK)
        A = np.zeros((J * self._CHUNK, n_in))
        A[:n] = features
        cache.insert(0, (features, A.reshape(1, J, self._CHUNK, n_in)))
        del cache[4:]
        return cache[0][1]

    def _full_logits(self, theta, features):
        """Logits ``(N, n, n_out)`` of ``theta (N, P)`` on one data set ``features (n, n_in)``,
        unchecked, in products of :attr:`_CHUNK` rows."""
        N, n = theta.shape[0], features.shape[0]
        h = self._padded(features)
        J = h.shape[1]
        layers = self.unpack(theta)
        kern = _mlp_kernel.kernels() if theta.dtype == np.float64 and theta.flags.c_contiguous else False
        k = 0
        for li, (W, b) in enumerate(layers):
            z = np.matmul(h, W[:, None], out=self._work(("full", li), (N, J, self._CHUNK, W.shape[2])))
            k += W.shape[1] * W.shape[2]
            z3 = z.reshape(N, J * self._CHUNK, W.shape[2])
            # hidden layers: bias and tanh in one pass, on the n data rows only (a padding row's
            # values never reach a data row: every product is row by row)
            if not (li < len(layers) - 1 and kern and bias_tanh_(z3, theta, k, n)):
                if kern:
                    kern["bias"](z3, theta, k)
                else:
                    z += b[:, None, None, :]
                if li < len(layers) - 1:
                    tanh_(z)
            k += W.shape[2]
            h = z
        return h.reshape(N, -1, h.shape[-1])[:, :n]

    def _nll(self, theta, features, y):
        """Per-sample cross-entropy ``(N, n)`` of ``theta (N, P)`` on ``(features, y)``,
        unchecked: ``-log softmax(z_L)_y`` with the operations of :meth:`loss_grad`, formed at
        the labels only."""
        z = self._full_logits(theta, features)
        zmax = z.max(axis=2, keepdims=True)
        e = np.subtract(z, zmax, out=self._work("nll_e", z.shape))
        np.exp(e, out=e)
        se = e.sum(axis=2)
        yy = np.broadcast_to(y, z.shape[:2])
        zy = np.take_along_axis(z, yy[:, :, None], axis=2)[:, :, 0]
        return -(zy - zmax[:, :, 0] - np.log(se))

    def _loss_grad(self, theta, A, y, need_grad=True):
        """:meth:`loss_grad` without the argument checks (for callers that made them)."""
        hs, layers = self._forward(theta, A)
        z = hs[-1]
        zmax = z.max(axis=2, keepdims=True)
        ez = np.exp(z - zmax)
        se = ez.sum(axis=2, keepdims=True)
        logp = z - zmax - np.log(se)
        M, B = y.shape
        picked = np.take_along_axis(logp, y[:, :, None], axis=2)[:, :, 0]
        loss = -picked.mean(axis=1)
        if not need_grad:
            return loss, None
        delta = ez / se
        delta[np.arange(M)[:, None], np.arange(B)[None, :], y] -= 1.0
        delta /= B
        grads = []
        for li in range(len(layers) - 1, -1, -1):
            W, _ = layers[li]
            hin = hs[li]
            gW = np.matmul(np.swapaxes(hin, 1, 2), delta)
            gb = delta.sum(axis=1)
            grads.append((gW.reshape(M, -1), gb))
            if li > 0:
                delta = np.matmul(delta, np.swapaxes(W, 1, 2)) * (1.0 - hin ** 2)
        flat = []
        for gW, gb in reversed(grads):
            flat.append(gW)
            flat.append(gb)
        return loss, np.concatenate(flat, axis=1)

    def _loss_grad_into(self, theta, A, y, wd=0.0):
        """Gradients ``(N, P)`` of the mean cross-entropy plus ``wd * theta``, unchecked; the
        floating-point operations of :meth:`loss_grad` (then ``g + wd * theta``) in the same
        order, with fewer temporaries: updates in place, each layer's gradient written straight
        into its block of the result, the log-softmax formed only at the labels (the loss is
        not returned). The elementwise passes between the matrix products are compiled loops
        where available (:mod:`twophase.local._mlp_kernel`, the same operations; the ``exp`` is
        numpy's); ``_numpy`` keeps them in numpy. Tests compare both with :meth:`loss_grad` bit for bit."""
        kern = _mlp_kernel.kernels()
        if not kern or self.sizes[-1] > 128 or theta.dtype != np.float64 or not theta.flags.c_contiguous:
            return self._loss_grad_into_numpy(theta, A, y, wd)
        N, B = y.shape
        layers = self.unpack(theta)
        L = len(layers)
        ends = self.__dict__.get("_ends")
        if ends is None:
            ends = self._ends = [int(e) for e in np.cumsum([0] + [i * o + o for i, o in self._shapes])]
        hs, h = [A], A
        for li, (W, b) in enumerate(layers):
            z = np.matmul(h, W, out=self._work(("z", li), (N, B, W.shape[2])))
            kern["bias"](z, theta, int(ends[li] + W.shape[1] * W.shape[2]))
            if li < L - 1:
                tanh_(z)
            h = z
            hs.append(h)
        delta = hs[-1]                  # the logits are not needed after this
        kern["row_shift_into"](delta, self._work("zmax", (N, B)), delta)   # in place
        np.exp(delta, out=delta)        # numpy's exp, as in the numpy passes
        kern["softmax_finish"](delta, np.ascontiguousarray(y, dtype=np.int64), float(B), _mlp_kernel.pow2_inverse(B))
        G = np.empty((N, self.n_params))
        for li in range(L - 1, -1, -1):
            W, _ = layers[li]
            n_in, n_out = self._shapes[li]
            k = int(ends[li])
            hin = hs[li]
            np.matmul(np.swapaxes(hin, 1, 2), delta, out=G[:, k:k + n_in * n_out].reshape(N, n_in, n_out))
            kern["colsum"](delta, G, k + n_in * n_out)
            if li > 0:
                back = np.matmul(delta, np.swapaxes(W, 1, 2), out=self._work(("back", li), (N, B, n_in)))
                kern["dtanh"](back, hin)
                delta = back
        if wd:
            kern["decay"](G, theta, float(wd))
        return G

    def _loss_grad_into_numpy(self, theta, A, y, wd=0.0):
        """:meth:`_loss_grad_into` with numpy's elementwise passes."""
        N, B = y.shape
        layers = self.unpack(theta)
        L = len(layers)
        hs, h = [A], A
        for li, (W, b) in enumerate(layers):
            z = np.matmul(h, W, out=self._work(("z", li), (N, B, W.shape[2])))
            z += b[:, None, :]
            if li < L - 1:
                tanh_(z)
            h = z
            hs.append(h)
        z = hs[-1]
        zmax = z.max(axis=2, keepdims=True)
        ez = np.subtract(z, zmax, out=z)     # the logits are not needed after this
        np.exp(ez, out=ez)
        se = ez.sum(axis=2, keepdims=True)
        ez /= se
        delta = ez
        delta[np.arange(N)[:, None], np.arange(B)[None, :], y] -= 1.0
        delta /= B
        G = np.empty((N, self.n_params))
        ends = np.cumsum([0] + [i * o + o for i, o in self._shapes])
        for li in range(L - 1, -1, -1):
            W, _ = layers[li]
            n_in, n_out = self._shapes[li]
            k = ends[li]
            hin = hs[li]
            np.matmul(np.swapaxes(hin, 1, 2), delta, out=G[:, k:k + n_in * n_out].reshape(N, n_in, n_out))
            np.sum(delta, axis=1, out=G[:, k + n_in * n_out:ends[li + 1]])
            if li > 0:
                back = np.matmul(delta, np.swapaxes(W, 1, 2), out=self._work(("back", li), (N, B, n_in)))
                sq = np.multiply(hin, hin, out=self._work(("sq", li), (N, B, n_in)))
                np.subtract(1.0, sq, out=sq)
                back *= sq
                delta = back
        if wd:
            G += np.multiply(wd, theta, out=self._work("wd", theta.shape))
        return G

    def predict(self, theta, features) -> np.ndarray:
        """Class predictions for one parameter vector ``(P,)`` on ``(n, n_in)``."""
        theta = real_array("theta", theta, shape=(self.n_params,))
        features = real_array("features", features, ndim=2)
        if features.shape[1] != self.sizes[0]:
            raise ValueError(f"features must have {self.sizes[0]} columns, got {features.shape}")
        return np.argmax(self._full_logits(theta[None], features)[0], axis=1)
