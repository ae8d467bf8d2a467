r"""Distributed test problems: M workers, each with its own objective.

Every problem exposes the same small oracle interface, vectorised over workers
(workers are the leading axis of every array):

* ``stoch_grad(X, rng)`` : one stochastic gradient per worker, ``X`` of shape
  ``(M, d)`` holds the workers' points; returns ``(M, d)``.
* ``grad(X)`` : exact local gradients :math:`\nabla f_m(X_m)`, ``(M, d)``.
* ``hvp(X, V, rng)`` : :math:`\nabla^2 f_m(X_m) V_m`, ``(M, d)``; exact where
  the model allows, otherwise a central finite difference of gradients
  (:func:`fd_hvp`).
* ``loss(x)`` : the global objective :math:`f(x)=\frac1M\sum_m f_m(x)` at one
  point ``x`` of shape ``(d,)`` (minus :math:`f^\star` where it is known, so
  that it is a suboptimality).

Problems: :class:`Quadratic` (per-worker Hessians and optima, additive
Gaussian gradient noise), :class:`Logistic` (l2-regularised logistic
regression on data shards, mini-batch gradients, exact HVPs) and
:class:`MLPClassifier` (numpy MLP on data shards, see :mod:`twophase.local.nn`).
Data splits: :func:`iid_shards`, :func:`dirichlet_shards`,
:func:`check_shards`.

Reference for the setting: Chezhegov et al., *Local Methods with Adaptivity
via Scaling* (2024); Dirichlet label skew as in Hsu, Qi & Brown (2019).
"""
from __future__ import annotations

import numpy as np

from . import _mlp_kernel
from ._checks import (boolean, choice, generator, nonneg_float, positive_float, positive_int,
                      real_array, seed_int)

__all__ = [
    "Quadratic", "Logistic", "MLPClassifier", "fd_hvp", "rademacher",
    "make_quadratic", "make_logistic", "iid_shards", "dirichlet_shards", "check_shards",
    "load_digits_split",
]


def rademacher(rng: np.random.Generator, shape) -> np.ndarray:
    """Independent +-1 entries with probability 1/2 each."""
    rng = generator("rng", rng)
    shp = (shape,) if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool) else shape
    if isinstance(shp, (str, bytes)) or not isinstance(shp, (tuple, list)):
        raise TypeError(f"shape must be a tuple of integers >= 0, got {shape!r}")
    for i, n in enumerate(shp):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"shape[{i}] must be an integer >= 0, got {n!r}")
    if int(np.prod(shp)) > 10 ** 8:
        raise ValueError(f"shape {tuple(shp)} has more than 10**8 entries (allowed: at most 10**8)")
    return 2.0 * rng.integers(0, 2, size=shape).astype(float) - 1.0


def fd_hvp(grad_fn, X: np.ndarray, V: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    r"""Central finite-difference Hessian-vector product, row by row.

    .. math:: \nabla^2 f(x) v \approx \frac{\nabla f(x+hv)-\nabla f(x-hv)}{2h},
       \qquad h = \epsilon\,\max(1,\|x\|)/\|v\|

    The error is :math:`O(h^2)` times third derivatives plus :math:`O(u/h)`
    rounding (u = machine epsilon), so ``eps`` ~ 1e-5 balances the two.
    ``grad_fn`` maps ``(M, d) -> (M, d)``; ``X`` and ``V`` are ``(M, d)``.
    The same ``grad_fn`` (same mini-batch) must be used for both sides.
    """
    if not callable(grad_fn):
        raise TypeError(f"grad_fn must be callable (M, d) -> (M, d), got {type(grad_fn).__name__}")
    X = np.atleast_2d(real_array("X", X))
    V = np.atleast_2d(real_array("V", V))
    if X.shape != V.shape or X.ndim != 2:
        raise ValueError(f"X and V must have the same shape (M, d), got {X.shape} and {V.shape}")
    eps = positive_float("eps", eps)
    vn = np.linalg.norm(V, axis=1, keepdims=True)
    xn = np.linalg.norm(X, axis=1, keepdims=True)
    h = eps * np.maximum(1.0, xn) / np.where(vn > 0, vn, 1.0)
    return (grad_fn(X + h * V) - grad_fn(X - h * V)) / (2.0 * h)


# --------------------------------------------------------------------------- shards
def check_shards(shards, n: int) -> list[np.ndarray]:
    """Check that ``shards`` (a list of index arrays) partitions ``range(n)``.

    Raises ``ValueError`` naming ``shards`` if a shard is empty, an index is
    out of range, an index appears twice, or some index is missing.
    """
    n = positive_int("n (number of samples)", n)
    if isinstance(shards, (str, bytes, np.ndarray)) and np.ndim(shards) < 2 or not hasattr(shards, "__iter__"):
        raise TypeError("shards must be a list of integer index arrays (one per worker)")
    arrs = []
    for m, sh in enumerate(shards):
        a = np.asarray(sh)
        if a.size and a.dtype.kind not in "iu":
            raise TypeError(f"shards[{m}] must hold integer indices, got dtype {a.dtype}")
        arrs.append(a.astype(int).ravel())
    shards = arrs
    if len(shards) < 1:
        raise ValueError("shards must be a non-empty list of index arrays (one per worker, M >= 1)")
    for m, s in enumerate(shards):
        if s.size == 0:
            raise ValueError(f"shards[{m}] is empty; every worker needs at least one sample")
        if s.min() < 0 or s.max() >= n:
            raise ValueError(f"shards[{m}] has indices outside the allowed range [0, {n - 1}]")
    allidx = np.concatenate(shards)
    counts = np.bincount(allidx, minlength=n)
    if np.any(counts > 1):
        raise ValueError(f"shards must partition the data: index {int(np.argmax(counts > 1))} "
                         "belongs to more than one shard")
    if np.any(counts == 0):
        raise ValueError(f"shards must partition the data: index {int(np.argmin(counts))} "
                         f"(of range [0, {n - 1}]) is in no shard")
    return shards


def iid_shards(n: int, M: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Random partition of ``range(n)`` into ``M`` shards of near-equal size."""
    n = positive_int("n", n)
    M = positive_int("M", M)
    rng = generator("rng", rng)
    if M > n:
        raise ValueError(f"M must be <= n = {n} so that no shard is empty; got M={M}")
    perm = rng.permutation(n)
    return [np.sort(s) for s in np.array_split(perm, M)]


def dirichlet_shards(labels: np.ndarray, M: int, concentration: float,
                     rng: np.random.Generator, min_size: int = 2) -> list[np.ndarray]:
    r"""Label-skewed partition: for every class, split its samples across the
    ``M`` workers with proportions drawn from :math:`\mathrm{Dir}(c\,\mathbf 1_M)`.

    Small ``concentration`` c gives strong skew (each worker sees few classes);
    large c approaches an iid split. Redraws (up to 100 times) until every
    shard holds at least ``min_size`` samples.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size < 1 or labels.dtype.kind not in "iub":
        raise ValueError(f"labels must be a non-empty 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    M = positive_int("M", M)
    concentration = positive_float("concentration", concentration)
    rng = generator("rng", rng)
    min_size = positive_int("min_size", min_size)
    if M * min_size > labels.size:
        raise ValueError(f"M * min_size = {M * min_size} exceeds the {labels.size} samples; lower M or min_size")
    classes = np.unique(labels)
    for _ in range(100):
        parts = [[] for _ in range(M)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(labels == c))
            p = rng.dirichlet(concentration * np.ones(M))
            cuts = (np.cumsum(p)[:-1] * idx.size).astype(int)
            for m, chunk in enumerate(np.split(idx, cuts)):
                parts[m].append(chunk)
        shards = [np.sort(np.concatenate(p)) for p in parts]
        if min(s.size for s in shards) >= min_size:
            return shards
    raise ValueError(f"dirichlet_shards: could not give every one of M={M} workers >= {min_size} "
                     f"samples with concentration={concentration}; raise concentration or lower M")


def _rng(name, rng):
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    return np.random.default_rng(seed_int(name, rng))


class _Sharded:
    """Mixin: per-worker mini-batch sampling from shards, vectorised."""

    def _setup_shards(self, shards, n, batch):
        self.shards = check_shards(shards, n)
        self.M = len(self.shards)
        self.batch = positive_int("batch", batch)
        self._order = np.concatenate(self.shards)
        self._sizes = np.array([s.size for s in self.shards])
        self._offsets = np.concatenate([[0], np.cumsum(self._sizes)[:-1]])

    def sample(self, rng: np.random.Generator, batch: int | None = None) -> np.ndarray:
        """Row indices ``(M, batch)``: uniform with replacement from each shard."""
        b = self.batch if batch is None else batch
        u = rng.random((self.M, b))
        local = np.minimum((u * self._sizes[:, None]).astype(int), self._sizes[:, None] - 1)
        return self._order[self._offsets[:, None] + local]


# --------------------------------------------------------------------------- quadratic
class Quadratic:
    r"""Per-worker quadratics :math:`f_m(x)=\tfrac12(x-c_m)^\top A_m(x-c_m)`.

    Stochastic gradients add isotropic Gaussian noise:
    :math:`g_m = A_m(x_m-c_m)+\sigma\xi_m`, :math:`\xi_m\sim N(0,I)`.
    ``loss`` returns :math:`f(x)-f^\star` with the exact minimiser
    :math:`x^\star = (\sum A_m)^{-1}\sum A_m c_m`.

    Parameters
    ----------
    A : ndarray, ``(d, d)`` (shared Hessian) or ``(M, d, d)``; symmetric PSD,
        with positive definite mean.
    c : ndarray ``(M, d)``, the workers' optima.
    sigma : float >= 0, gradient-noise standard deviation per coordinate.
    """

    def __init__(self, A, c, sigma: float = 0.0):
        c = np.atleast_2d(real_array("c", c, min_size=0))
        if c.ndim != 2:
            raise ValueError(f"c must have shape (M, d), got {c.shape}")
        self.M, self.d = c.shape
        positive_int("M (number of workers)", self.M)
        positive_int("d", self.d)
        A = real_array("A", A, max_size=10 ** 8)
        if A.ndim == 2:
            if A.shape != (self.d, self.d):
                raise ValueError(f"A must have shape (d, d) = ({self.d}, {self.d}) or (M, d, d) = "
                                 f"({self.M}, {self.d}, {self.d}) to match c; got {A.shape}")
            A = np.broadcast_to(A, (self.M, self.d, self.d))
            self.shared_hessian = True
        else:
            self.shared_hessian = False
        if A.shape != (self.M, self.d, self.d):
            raise ValueError(f"A must have shape (d, d) or (M, d, d) = ({self.M}, {self.d}, {self.d}); "
                             f"got {A.shape}")
        if not np.array_equal(A, np.swapaxes(A, 1, 2)):
            raise ValueError("A must be exactly symmetric (use 0.5 * (A + A.T))")
        self.A = A
        self.c = c
        self.sigma = nonneg_float("sigma", sigma)
        Abar = A.mean(axis=0)
        self.hessian = Abar
        self.x_star = np.linalg.solve(Abar, np.einsum("mij,mj->i", A, c) / self.M)
        self._f_raw_star = 0.0
        self._f_raw_star = self._f_raw(self.x_star)

    def _f_raw(self, x):
        r = x[None, :] - self.c
        Ar = r @ self.A[0] if self.shared_hessian else np.matmul(self.A, r[:, :, None])[:, :, 0]
        return 0.5 * float(np.mean(np.sum(r * Ar, axis=1)))

    def loss(self, x) -> float:
        """Suboptimality :math:`f(x)-f^\\star` of the global objective."""
        return self._f_raw(np.asarray(x, dtype=float)) - self._f_raw_star

    def grad(self, X) -> np.ndarray:
        if self.shared_hessian:                       # one BLAS call: (X - c) A^T, A symmetric
            return (X - self.c) @ self.A[0]
        return np.einsum("mij,mj->mi", self.A, X - self.c)

    def stoch_grad(self, X, rng) -> np.ndarray:
        g = self.grad(X)
        if self.sigma > 0:
            g = g + self.sigma * rng.standard_normal(g.shape)
        return g

    def hvp(self, X, V, rng=None) -> np.ndarray:
        """Exact: :math:`A_m V_m` (independent of the point)."""
        if self.shared_hessian:
            return V @ self.A[0]
        return np.einsum("mij,mj->mi", self.A, V)

    def hessian_diag(self) -> np.ndarray:
        """Diagonal of the global Hessian :math:`\\bar A = \\frac1M\\sum A_m`."""
        return np.diag(self.hessian).copy()


def make_quadratic(d: int, M: int, *, kappa: float = 10.0, sigma: float = 0.0,
                   hetero: float = 0.0, shared_hessian: bool = True, basis: str = "axis",
                   hessian_spread: float = 0.5, rng=None) -> Quadratic:
    r"""A random quadratic problem with condition number about ``kappa``.

    The global Hessian is :math:`A = S B S` where :math:`S` is diagonal with
    entries log-spaced in :math:`[1, \sqrt{\kappa}]` (randomly permuted) and
    ``B`` is a well-conditioned correlation-like matrix (``basis="axis"``), so
    the ill-conditioning sits in the coordinate scales - the case a diagonal
    preconditioner can fix - or :math:`A = Q\,\mathrm{diag}(\lambda)\,Q^\top`
    with a random rotation ``Q`` and log-spaced eigenvalues in
    :math:`[1/\kappa, 1]` (``basis="rotated"``), where it cannot.
    Both are scaled so the largest eigenvalue is 1.

    ``hetero`` >= 0 sets the spread of the workers' optima
    (:math:`c_m = x_0 + \text{hetero}\cdot\xi_m/\sqrt d`).
    ``shared_hessian=False`` gives every worker
    :math:`A_m = A^{1/2}(I + s E_m)A^{1/2}` with a random symmetric ``E_m``
    whose mean is zero across workers and ``s = hessian_spread``, so the
    mean Hessian is still ``A``.
    """
    d = positive_int("d", d)
    M = positive_int("M", M)
    kappa = positive_float("kappa", kappa)
    if kappa < 1:
        raise ValueError(f"kappa must be >= 1 (allowed range [1, inf)); got {kappa}")
    sigma = nonneg_float("sigma", sigma)
    shared_hessian = boolean("shared_hessian", shared_hessian)
    basis = choice("basis", basis, ("axis", "rotated"))
    hessian_spread = nonneg_float("hessian_spread", hessian_spread)
    if d > 4000 or (not shared_hessian and M * d * d > 5 * 10 ** 7):
        raise ValueError(f"d = {d} with M = {M} needs dense (M, d, d) Hessians beyond the allowed size "
                         "(d <= 4000 and, with per-worker Hessians, M * d**2 <= 5e7)")
    rng = _rng("rng", rng)
    if basis == "axis":
        s = np.sqrt(np.logspace(0, np.log10(kappa), d))
        s = rng.permutation(s)
        G = rng.standard_normal((d, 4 * d)) / np.sqrt(4 * d)
        B = 0.5 * (G @ G.T) + 0.5 * np.eye(d)
        Dinv = 1.0 / np.sqrt(np.diag(B))
        B = B * Dinv[:, None] * Dinv[None, :]
        A = s[:, None] * B * s[None, :]
    elif basis == "rotated":
        Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        lam = np.logspace(-np.log10(kappa), 0, d)
        A = (Q * lam) @ Q.T
    else:
        raise ValueError(f"basis must be one of 'axis', 'rotated'; got {basis!r}")
    A = 0.5 * (A + A.T)
    A = A / np.linalg.eigvalsh(A).max()
    hetero = nonneg_float("hetero", hetero)
    c = hetero * rng.standard_normal((M, d)) / np.sqrt(d)
    if shared_hessian:
        return Quadratic(A, c, sigma)
    w, U = np.linalg.eigh(A)
    R = (U * np.sqrt(np.maximum(w, 0))) @ U.T
    E = rng.standard_normal((M, d, d)) / np.sqrt(d)
    E = 0.5 * (E + np.swapaxes(E, 1, 2))
    E = E - E.mean(axis=0)
    # keep every I + s E_m positive definite
    emin = np.linalg.eigvalsh(E).min()
    s = min(hessian_spread, 0.9 / max(1e-12, -emin)) if emin < 0 else hessian_spread
    As = np.matmul(np.matmul(R, np.eye(d)[None] + s * E), R)
    As = 0.5 * (As + np.swapaxes(As, 1, 2))
    return Quadratic(As, c, sigma)


# --------------------------------------------------------------------------- logistic
class Logistic(_Sharded):
    r"""l2-regularised logistic regression on data shards.

    :math:`f_m(x)=\frac1{n_m}\sum_{i\in S_m}\log(1+e^{-y_i a_i^\top x})+\frac\lambda2\|x\|^2`,
    labels :math:`y_i\in\{-1,+1\}`. Gradients on mini-batches of size
    ``batch`` drawn with replacement from each shard; HVPs are exact,
    :math:`\nabla^2 f_m(x)v=\frac1{n_m}A_m^\top\mathrm{diag}(s(1-s))A_m v+\lambda v`
    with :math:`s=\sigma(a^\top x)`, on the full shard. ``loss`` is
    :math:`f(x)-f^\star` with :math:`f^\star` from Newton's method.
    """

    def __init__(self, features, labels, shards, lam: float = 1e-2, batch: int = 8):
        self.a = real_array("features", features, ndim=2)
        self.y = real_array("labels", labels, ndim=1, shape=(self.a.shape[0],))
        if not np.all(np.isin(self.y, (-1.0, 1.0))):
            raise ValueError("labels must be in {-1, +1}")
        n, self.d = self.a.shape
        self.lam = positive_float("lam", lam)
        self._setup_shards(shards, n, batch)
        self.x_star, self.f_star = self._newton()

    def _fm(self, m, x):
        s = self.shards[m]
        z = self.y[s] * (self.a[s] @ x)
        return float(np.mean(np.logaddexp(0.0, -z)) + 0.5 * self.lam * x @ x)

    def _gm(self, m, x):
        s = self.shards[m]
        z = self.y[s] * (self.a[s] @ x)
        w = -self.y[s] * _sigmoid(-z)
        return self.a[s].T @ w / s.size + self.lam * x

    def _hm(self, m, x):
        s = self.shards[m]
        p = _sigmoid(self.a[s] @ x)
        return (self.a[s].T * (p * (1 - p))) @ self.a[s] / s.size + self.lam * np.eye(self.d)

    def _newton(self):
        x = np.zeros(self.d)
        for _ in range(50):
            g = np.mean([self._gm(m, x) for m in range(self.M)], axis=0)
            Hm = np.mean([self._hm(m, x) for m in range(self.M)], axis=0)
            step = np.linalg.solve(Hm, g)
            x = x - step
            if np.linalg.norm(step) < 1e-13 * max(1.0, np.linalg.norm(x)):
                break
        return x, self._f_raw(x)

    def _f_raw(self, x):
        return float(np.mean([self._fm(m, x) for m in range(self.M)]))

    def loss(self, x) -> float:
        return self._f_raw(np.asarray(x, dtype=float)) - self.f_star

    def grad(self, X) -> np.ndarray:
        return np.stack([self._gm(m, X[m]) for m in range(self.M)])

    def hessian(self, x) -> np.ndarray:
        """Global Hessian at ``x`` (for checks only; methods use :meth:`hvp`)."""
        return np.mean([self._hm(m, x) for m in range(self.M)], axis=0)

    def stoch_grad(self, X, rng) -> np.ndarray:
        rows = self.sample(rng)                       # (M, b)
        A = self.a[rows]                              # (M, b, d)
        y = self.y[rows]                              # (M, b)
        z = y * np.einsum("mbd,md->mb", A, X)
        w = -y * _sigmoid(-z)
        return np.einsum("mbd,mb->md", A, w) / rows.shape[1] + self.lam * X

    def hvp(self, X, V, rng=None) -> np.ndarray:
        out = np.empty_like(V)
        for m in range(self.M):
            s = self.shards[m]
            As = self.a[s]
            p = _sigmoid(As @ X[m])
            out[m] = As.T @ (p * (1 - p) * (As @ V[m])) / s.size + self.lam * V[m]
        return out


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def make_logistic(n: int, d: int, M: int, *, lam: float = 1e-2, batch: int = 8,
                  scale_spread: float = 10.0, split: str = "iid", concentration: float = 0.5,
                  rng=None) -> Logistic:
    """Synthetic logistic regression: Gaussian features with per-coordinate
    scales log-spaced in ``[1/scale_spread, 1]``, labels from a random teacher
    with 10% label noise. ``split`` is ``"iid"`` or ``"label"`` (Dirichlet label
    skew with the given ``concentration``)."""
    rng = _rng("rng", rng)
    n = positive_int("n", n)
    d = positive_int("d", d)
    M = positive_int("M", M)
    scale_spread = positive_float("scale_spread", scale_spread)
    if scale_spread < 1:
        raise ValueError(f"scale_spread must be >= 1 (allowed range [1, inf)), got {scale_spread}")
    split = choice("split", split, ("iid", "label"))
    if n * d > 10 ** 8:
        raise ValueError(f"n * d = {n * d} exceeds the allowed 10**8 feature entries")
    scales = rng.permutation(np.logspace(-np.log10(scale_spread), 0, d))
    a = rng.standard_normal((n, d)) * scales
    teacher = rng.standard_normal(d) / scales
    y = np.sign(a @ teacher / np.sqrt(d) + 1e-12)
    flip = rng.random(n) < 0.1
    y[flip] = -y[flip]
    if split == "iid":
        shards = iid_shards(n, M, rng)
    elif split == "label":
        shards = dirichlet_shards((y > 0).astype(int), M, concentration, rng)
    else:
        raise ValueError(f"split must be one of 'iid', 'label'; got {split!r}")
    return Logistic(a, y, shards, lam=lam, batch=batch)


# --------------------------------------------------------------------------- MLP
def load_digits_split(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's bundled 8x8 digits (no download), standardised, split
    into train/test with a fixed seed. Returns ``(Xtr, ytr, Xte, yte)``."""
    test_fraction = positive_float("test_fraction", test_fraction)
    if not test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    seed = seed_int("seed", seed)
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(y))
    nte = int(round(test_fraction * len(y)))
    te, tr = perm[:nte], perm[nte:]
    mu = X[tr].mean(axis=0)
    sd = X[tr].std(axis=0) + 0.1
    X = (X - mu) / sd
    return X[tr], y[tr], X[te], y[te]


class MLPClassifier(_Sharded):
    """A numpy MLP classifier on data shards (see :class:`twophase.local.nn.MLP`).

    Parameters are one flat vector per worker. ``stoch_grad`` uses mini-batches
    of size ``batch`` per worker; ``hvp`` is a central finite difference of
    mini-batch gradients (same batch on both sides, ``hvp_batch`` samples) -
    see :func:`fd_hvp`. ``loss`` is the global train loss (mean of the workers'
    shard losses, no f* subtraction); ``accuracy`` on any data set.
    """

    def __init__(self, net, features, labels, shards, batch: int = 32, weight_decay: float = 1e-4,
                 hvp_batch: int = 128, fd_eps: float = 1e-4):
        from .nn import MLP

        if not isinstance(net, MLP):
            raise TypeError(f"net must be a twophase.local.MLP, got {type(net).__name__}")
        self.net = net
        self.a = real_array("features", features, ndim=2)
        if self.a.shape[1] != net.sizes[0]:
            raise ValueError(f"features must have net.sizes[0] = {net.sizes[0]} columns, got {self.a.shape[1]}")
        y = np.asarray(labels)
        if y.shape != (self.a.shape[0],) or y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= net.sizes[-1]:
            raise ValueError(f"labels must be {self.a.shape[0]} integers in [0, {net.sizes[-1] - 1}]")
        self.y = y.astype(int)
        n = self.a.shape[0]
        self.d = net.n_params
        self.weight_decay = nonneg_float("weight_decay", weight_decay)
        self.hvp_batch = positive_int("hvp_batch", hvp_batch)
        self.fd_eps = positive_float("fd_eps", fd_eps)
        self._setup_shards(shards, n, batch)
        self._w = np.array([s.size for s in self.shards], dtype=float)

    def _batch_grad(self, X, rows):
        _, g = self.net.loss_grad(X, self.a[rows], self.y[rows])
        return g + self.weight_decay * X

    def stoch_grad(self, X, rng) -> np.ndarray:
        return self._batch_grad(X, self.sample(rng))

    def grad(self, X) -> np.ndarray:
        out = np.empty_like(X)
        for m, s in enumerate(self.shards):
            _, g = self.net.loss_grad(X[m:m + 1], self.a[s][None], self.y[s][None])
            out[m] = g[0] + self.weight_decay * X[m]
        return out

    def hvp(self, X, V, rng=None) -> np.ndarray:
        rng = _rng("rng", rng)
        rows = self.sample(rng, self.hvp_batch)
        return fd_hvp(lambda Z: self._batch_grad(Z, rows), X, V, eps=self.fd_eps)

    def loss(self, x) -> float:
        """Global train objective (1/M) sum_m f_m(x), including weight decay."""
        vals = []
        for s in self.shards:
            l, _ = self.net.loss_grad(x[None], self.a[s][None], self.y[s][None], need_grad=False)
            vals.append(l[0])
        return float(np.mean(vals) + 0.5 * self.weight_decay * x @ x)

    def accuracy(self, x, features, labels) -> float:
        pred = self.net.predict(x, np.asarray(features, dtype=float))
        return float(np.mean(pred == np.asarray(labels)))


# --------------------------------------------------------------------------- runs as an array axis
class _RunStack:
    """R independent runs' problems behind one oracle with a leading run axis (private).

    Arrays are ``(R, M, d)``: run ``r`` holds ``problems[r]``'s M workers. ``rngs`` is a list of
    R generators, run ``r`` drawing from ``rngs[r]`` exactly what ``problems[r]``'s own oracle
    would draw from it, in the same order, so a stacked run sees the random numbers of a run on
    its own. This generic stack loops over the runs; :class:`_MLPStack` does them in one call.
    """

    def __init__(self, problems):
        self.problems = list(problems)
        self.M = self.problems[0].M

    def take(self, idx) -> "_RunStack":
        """The stack of the runs ``idx`` (a list of run indices), same order."""
        return type(self)([self.problems[i] for i in idx])

    def stoch_grad(self, X, rngs):
        if len(self.problems) == 1:
            return self.problems[0].stoch_grad(X[0], rngs[0])[None]
        return np.stack([p.stoch_grad(x, g) for p, x, g in zip(self.problems, X, rngs)])

    def local_step(self, X, rngs, De, g, step):
        """One local step of every run in place: ``G = stoch_grad(X, rngs)``, then
        ``X -= g * (G / De)`` as ``np.divide(G, De, out=step); step *= g; X -= step``
        (``De (R, 1, d)`` or ``(R, M, d)``, ``g (R, 1, 1)``, ``step`` scratch like ``X``).
        Returns ``G``."""
        G = self.stoch_grad(X, rngs)
        np.divide(G, De, out=step)
        step *= g
        X -= step
        return G

    def probe(self, X, rngs):
        """One Hutchinson probe per run: ``z * hvp(X, z)``, ``z`` Rademacher, drawn first."""
        out = np.empty_like(X)
        for r, (p, g) in enumerate(zip(self.problems, rngs)):
            z = rademacher(g, X[r].shape)
            out[r] = z * p.hvp(X[r], z, g)
        return out

    def loss(self, Xbar):
        """``(R,)`` global losses at the averaged iterates ``Xbar (R, d)``."""
        return np.array([p.loss(x) for p, x in zip(self.problems, Xbar)], dtype=float)

    def loss_bounds(self, Xbar):
        """``(lo, hi)``, each ``(R,)``: bounds with ``lo <= loss(Xbar) <= hi`` (as computed in
        floating point), cheaper than the loss itself; none known here: ``(-inf, inf)``."""
        R = Xbar.shape[0]
        return np.full(R, -np.inf), np.full(R, np.inf)


class _MLPStack(_RunStack):
    """:class:`_RunStack` of :class:`MLPClassifier` problems on the same data, network and
    options (shards may differ): every local step of every worker of every run is one batched
    matrix product per layer, ``(R M, b, n_in) @ (R M, n_in, n_out)``; each worker's product
    is the same BLAS call as on its own, so the numbers equal the per-run ones."""

    def __init__(self, problems):
        super().__init__(problems)
        p0 = self.problems[0]
        self.net, self.a, self.y, self.wd = p0.net, p0.a, p0.y, p0.weight_decay

    @staticmethod
    def fits(problems) -> bool:
        """Same data, network and options, and no oracle replaced on an instance (a wrapped
        ``stoch_grad``, e.g. one that counts calls, is then called as given)."""
        p0 = problems[0]
        return all(isinstance(p, MLPClassifier) and not {"stoch_grad", "hvp", "loss", "sample"} & set(vars(p))
                   and p.net.sizes == p0.net.sizes and p.M == p0.M
                   and (p.a is p0.a or np.array_equal(p.a, p0.a)) and (p.y is p0.y or np.array_equal(p.y, p0.y))
                   and (p.weight_decay, p.batch, p.hvp_batch, p.fd_eps)
                   == (p0.weight_decay, p0.batch, p0.hvp_batch, p0.fd_eps) for p in problems)

    def take(self, idx):
        return _MLPStack([self.problems[i] for i in idx])

    def _grad(self, X, rows, decay=True):
        R, M, d = X.shape
        b = rows.shape[-1]
        flat = X.reshape(R * M, d)
        A = self.net._work("batch", (R * M * b, self.a.shape[1]))
        kern = _mlp_kernel.kernels()
        if kern and self.a.flags.c_contiguous and self.a.dtype == np.float64 and self.y.dtype == np.int64:
            Y = np.empty(R * M * b, dtype=np.int64)    # the batch's inputs and labels in one loop
            kern["gather"](self.a, self.y, np.ascontiguousarray(rows.reshape(-1), dtype=np.int64), A, Y)
        else:
            # mode="clip": the rows come from sample() and are in range; numpy's default mode
            # copies through a temporary when given ``out`` (2.5x slower here)
            np.take(self.a, rows.reshape(-1), axis=0, out=A, mode="clip")
            Y = self.y[rows]
        g = self.net._loss_grad_into(flat, A.reshape(R * M, b, -1), Y.reshape(R * M, b), self.wd if decay else 0.0)
        return g.reshape(R, M, d)

    def _shard_arrays(self):
        """Every run's shards as arrays: ``sizes (R, M, 1)``, ``offsets (R, M, 1)`` and the
        flat index of run r's ``_order`` entries, ``orders (R * n,)`` (kept: built once)."""
        cached = self.__dict__.get("_sample_cache")
        if cached is None:
            sizes = np.stack([p._sizes for p in self.problems])[:, :, None]
            offsets = np.stack([p._offsets for p in self.problems])[:, :, None]
            orders = np.stack([p._order for p in self.problems])
            offsets = offsets + (np.arange(len(self.problems)) * orders.shape[1])[:, None, None]
            self._sample_cache = cached = (sizes, sizes - 1, offsets, np.ascontiguousarray(orders.reshape(-1)))
        return cached

    def sample_rows(self, rngs, batch=None, before=None):
        """Row indices ``(R, M, batch)``: run r's are ``problems[r].sample(rngs[r], batch)``, the
        same draws and the same operations, with the arithmetic for all runs at once (one draw
        per run, then vectorised). ``before(r, rng)``, if given, is called with each run's
        generator just before its draw (the probes draw their Rademacher vectors there)."""
        b = self.problems[0].batch if batch is None else batch
        U = np.empty((len(self.problems), self.M, b))
        for r, g in enumerate(rngs):
            if before is not None:
                before(r, g)
            g.random(out=U[r])
        sizes, top, offsets, orders = self._shard_arrays()
        kern = _mlp_kernel.kernels()
        if kern:                                 # the same arithmetic in one compiled loop
            out = np.empty(U.shape, dtype=orders.dtype)
            kern["sample_rows"](U, sizes[:, :, 0], offsets[:, :, 0], orders, out)
            return out
        local = np.minimum((U * sizes).astype(int), top)
        local += offsets
        return orders[local]

    def stoch_grad(self, X, rngs):
        return self._grad(X, self.sample_rows(rngs))

    def local_step(self, X, rngs, De, g, step):
        """:meth:`_RunStack.local_step`; with the compiled passes the data gradient is formed
        without the weight decay, and one loop adds ``wd * X`` to it and takes the step
        (:func:`~twophase.local._mlp_kernel._decay_step`: the same operations, in the same
        order, as the decay in :meth:`MLP._loss_grad_into` and the numpy step)."""
        kern = _mlp_kernel.kernels()
        if not (kern and X.dtype == np.float64 and X.flags.c_contiguous and De.dtype == np.float64):
            return super().local_step(X, rngs, De, g, step)
        G = self._grad(X, self.sample_rows(rngs), decay=False)
        kern["decay_step"](X, G, De, np.ascontiguousarray(g, dtype=np.float64).reshape(-1), float(self.wd))
        return G

    def probe(self, X, rngs):
        R, M, d = X.shape
        Z = np.empty_like(X)

        def draw(r, g):            # each run's probe vector, then its rows, from its generator
            Z[r] = rademacher(g, (M, d))

        rows = self.sample_rows(rngs, self.problems[0].hvp_batch, before=draw)
        hz = fd_hvp(lambda F: self._grad(F.reshape(R, M, d), rows).reshape(R * M, d),
                    X.reshape(R * M, d), Z.reshape(R * M, d), eps=self.problems[0].fd_eps)
        return Z * hz.reshape(R, M, d)

    def loss(self, Xbar):
        """Forward pass of every run on the whole train set at once; per-shard means as in
        :meth:`MLPClassifier.loss` (same rows, same order, same reductions)."""
        R, M = Xbar.shape[0], self.M
        kern = _mlp_kernel.kernels()
        if kern and self.net.sizes[-1] <= 128 and self.a.shape[0] <= 8192:   # numpy's sums: one block, one buffer
            idx, offs = self._shard_index(R)
            vals = np.empty((R, M))
            n = self.a.shape[0]
            z = self.net._full_logits(Xbar, self.a)
            work = self.net._work
            zmax, se, e = work("k_zmax", (R, n)), work("k_se", (R, n)), work("k_e", z.shape)
            kern["row_shift_into"](z, zmax, e)
            np.exp(e, out=e)                 # numpy's exp and log, as in MLP._nll
            kern["row_sums"](e, se)
            np.log(se, out=se)
            kern["shard_nll_means"](z, zmax, se, self.y, idx, offs, work("k_nll", (n,)), work("k_tmp", (n,)), vals)
            return np.array([float(np.mean(vals[r]) + 0.5 * self.wd * Xbar[r] @ Xbar[r]) for r in range(R)])
        nll = self.net._nll(Xbar, self.a, self.y)                          # (R, n)
        vals = np.empty((R, M))
        for r, p in enumerate(self.problems):       # row by row: a (k, n) mean may sum in another order
            for m, s in enumerate(p.shards):
                vals[r, m] = nll[r, s].mean()
        return np.array([float(np.mean(vals[r]) + 0.5 * self.wd * Xbar[r] @ Xbar[r]) for r in range(R)])

    def _shard_index(self, R):
        """The runs' shards as ``(idx (R, k), offs (R, M + 1))``: shard m of run r is
        ``idx[r, offs[r, m]:offs[r, m + 1]]`` (kept: the same runs come every round)."""
        if R != len(self.problems):
            raise ValueError(f"Xbar must have one row per run ({len(self.problems)}), got {R}")
        key = R
        cached = self.__dict__.get("_shard_cache")
        if cached is None or cached[0] != key:
            k = max(sum(s.size for s in p.shards) for p in self.problems)
            idx = np.zeros((R, k), dtype=np.int64)
            offs = np.zeros((R, self.M + 1), dtype=np.int64)
            for r, p in enumerate(self.problems):
                offs[r, 1:] = np.cumsum([s.size for s in p.shards])
                idx[r, :offs[r, -1]] = np.concatenate(p.shards)
            self._shard_cache = cached = (key, idx, offs)
        return cached[1], cached[2]

    def loss_bounds(self, Xbar):
        r"""Bounds on :meth:`loss` from the parameters alone.

        Lower: the weight-decay term :math:`\tfrac\lambda2\|x\|^2`, computed as in
        :meth:`loss`; the cross-entropy part is a sum of terms :math:`\log\sum_c e^{z_c-z_{max}}
        -(z_y-z_{max})`, each >= 0 in floating point too. Upper: per sample, the cross-entropy is
        at most :math:`2\max_c|z_c| + \log C`, and :math:`|z_c|\le\sum_j|W_{jc}|\,h_{max}+|b_c|`
        with :math:`h_{max}=1` after a tanh layer (the largest input entry without hidden
        layers); widened by a relative 1e-9 for rounding.
        """
        R = Xbar.shape[0]
        lo = np.array([0.5 * self.wd * Xbar[r] @ Xbar[r] for r in range(R)])
        W, b = self.net.unpack(Xbar)[-1]
        hmax = 1.0 if len(self.net.sizes) > 2 else float(np.abs(self.a).max())
        zmax = (np.abs(W).sum(axis=1) * hmax + np.abs(b)).max(axis=1)
        hi = (2.0 * zmax + np.log(self.net.sizes[-1]) + lo) * (1 + 1e-9) + 1e-9
        return lo, hi


def _stack(problems) -> _RunStack:
    """The batched oracle for the runs' problems: :class:`_MLPStack` where it applies."""
    return _MLPStack(problems) if _MLPStack.fits(problems) else _RunStack(problems)
