r"""Diagonal preconditioners for the scaled local method.

A preconditioner keeps a small state (a ``NamedTuple``) and turns it into a
positive diagonal :math:`\hat D` (stored as a vector). The scaled local method
refreshes the state only at communication and freezes :math:`\hat D` inside a
round; see :mod:`twophase.local.method`.

Rules (all diagonal, :math:`\beta\in(0,1)`, :math:`p` = number of refreshes):

* ``identity``: :math:`\hat D = I` (Local SGD).
* ``rmsprop``: :math:`v \leftarrow \beta v + (1-\beta)\,g\odot g`, :math:`D=\sqrt{v}`.
* ``adam``: the same second moment with bias correction,
  :math:`D = \sqrt{v/(1-\beta^{p})}` (Kingma & Ba, 2015; no first moment: the
  method scales gradients, it has no momentum).
* ``oasis``: :math:`D \leftarrow \beta D + (1-\beta)\,z\odot\nabla^2 f(x) z`
  with Rademacher :math:`z` (Hutchinson's diagonal estimator, Jahani et al.,
  2021). Warm start: the first :math:`D` is the mean of ``n_warm`` probes.

Positivity: ``"clip"`` gives :math:`\hat D_{ii} = \max(\alpha, |D_{ii}|)`, so
:math:`\alpha I \preceq \hat D`; ``"eps"`` gives :math:`\hat D_{ii}=|D_{ii}|+\epsilon`
(Adam style). The statistic each rule consumes is computed by the method:
``needs`` is ``"none"``, ``"grad_sq"`` (:math:`g\odot g`) or ``"hutchinson"``
(:math:`z\odot Hz`).

References: Chezhegov et al., *Local Methods with Adaptivity via Scaling*
(2024); Jahani et al., *Doubly adaptive scaled algorithm for machine learning
using second-order information* (OASIS, 2021); Kingma & Ba, *Adam* (2015).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._checks import choice, open_unit, positive_float, positive_int, real_array

__all__ = ["PRECONDITIONERS", "PrecondState", "Preconditioner", "make_precond"]

PRECONDITIONERS = ("identity", "rmsprop", "adam", "oasis")
_NEEDS = {"identity": "none", "rmsprop": "grad_sq", "adam": "grad_sq", "oasis": "hutchinson"}
#: default positivity rule per preconditioner (OASIS needs clipping: its raw
#: diagonal can be negative; Adam/RMSProp add epsilon as their authors do).
DEFAULT_POSITIVITY = {"identity": "clip", "rmsprop": "eps", "adam": "eps", "oasis": "clip"}


class PrecondState(NamedTuple):
    """State of a diagonal preconditioner.

    Attributes
    ----------
    D : ndarray
        Raw running statistic: the second moment ``v`` for rmsprop/adam, the
        diagonal estimate for oasis, ones for identity. Shape ``(d,)``, or
        ``(M, d)`` when every worker keeps its own.
    count : int
        Number of refreshes folded in so far (``p`` in the bias correction).
    """

    D: np.ndarray
    count: int


@dataclass(frozen=True)
class Preconditioner:
    """A diagonal preconditioner rule; see the module docstring for the maths.

    Parameters
    ----------
    name : {"identity", "rmsprop", "adam", "oasis"}
    beta : float in (0, 1)
        Weight of the old statistic in the exponential average. Default 0.9
        (refreshes happen once per round, so a long memory would make the
        scaling lag far behind the iterate).
    positivity : {"clip", "eps"} or None
        ``None`` picks :data:`DEFAULT_POSITIVITY` for ``name``.
    alpha : float > 0
        Clipping level for ``"clip"``: :math:`\\hat D_{ii}\\ge\\alpha`. Default 1e-4.
    eps : float > 0
        Additive constant for ``"eps"``. Default 1e-8.
    n_warm : int >= 1
        OASIS warm start: number of Hutchinson probes averaged for the first
        diagonal. Default 10.
    """

    name: str = "identity"
    beta: float = 0.9
    positivity: str | None = None
    alpha: float = 1e-4
    eps: float = 1e-8
    n_warm: int = 10

    def __post_init__(self):
        choice("name (preconditioner)", self.name, PRECONDITIONERS)
        for f, check in (("beta", open_unit), ("alpha", positive_float), ("eps", positive_float),
                         ("n_warm", positive_int)):
            object.__setattr__(self, f, check(f, getattr(self, f)))
        if self.n_warm > 10 ** 4:
            raise ValueError(f"n_warm must be <= 10**4 (allowed range 1 .. 10000), got {self.n_warm}")
        pos = DEFAULT_POSITIVITY[self.name] if self.positivity is None else self.positivity
        choice("positivity", pos, ("clip", "eps"))
        object.__setattr__(self, "positivity", pos)

    @property
    def needs(self) -> str:
        """Which statistic the rule consumes: none, grad_sq or hutchinson."""
        return _NEEDS[self.name]

    # ------------------------------------------------------------------ state
    def init(self, shape) -> PrecondState:
        """Empty state of the given shape (``(d,)`` or ``(M, d)``).

        identity: ones. rmsprop/adam: zeros with ``count = 0``; the method
        folds in the statistics at the starting point before the first round.
        oasis: zeros; use :meth:`warm_start` with probes at the starting point.
        """
        shape = _shape("shape", shape)
        if self.name == "identity":
            return PrecondState(np.ones(shape), 0)
        return PrecondState(np.zeros(shape), 0)

    def warm_start(self, probes: np.ndarray) -> PrecondState:
        """OASIS warm start: ``D0`` = mean of the probes ``z*Hz`` over axis 0.

        ``probes`` has shape ``(n_warm, *shape)``. For rmsprop/adam the first
        refresh is an ordinary :meth:`update` on an empty state, so this is
        only defined for oasis.
        """
        if self.name != "oasis":
            raise ValueError(f"warm_start is defined for name='oasis' only; got name={self.name!r}")
        probes = real_array("probes", probes)
        if probes.ndim < 2:
            raise ValueError(f"probes must have shape (n_warm, d) or (n_warm, M, d), got {probes.shape}")
        return PrecondState(np.mean(probes, axis=0), 1)

    def update(self, state: PrecondState, stat: np.ndarray) -> PrecondState:
        """Fold one statistic into the state.

        ``stat`` is ``g*g`` (rmsprop/adam) or ``z*Hz`` (oasis), same shape as
        ``state.D``. identity ignores it.
        """
        state = _state(state)
        stat = real_array("stat", stat, shape=state.D.shape) if self.name != "identity" else stat
        if self.name == "identity":
            return PrecondState(state.D, state.count + 1)
        b = self.beta
        return PrecondState(b * state.D + (1.0 - b) * stat, state.count + 1)

    def dhat(self, state: PrecondState) -> np.ndarray:
        r"""The positive diagonal :math:`\hat D` used in the local steps."""
        state = _state(state)
        if self.name == "identity":
            return state.D
        if self.name == "rmsprop":
            raw = np.sqrt(state.D)
        elif self.name == "adam":
            if state.count < 1:
                raise ValueError("adam: dhat needs at least one update (count >= 1) for bias correction")
            raw = np.sqrt(state.D / (1.0 - self.beta ** state.count))
        else:  # oasis
            raw = np.abs(state.D)
        if self.positivity == "clip":
            return np.maximum(self.alpha, raw)
        return raw + self.eps

    def lower_bound(self) -> float:
        """The guaranteed lower bound of :math:`\\hat D` (alpha or eps; 1 for identity)."""
        if self.name == "identity":
            return 1.0
        return self.alpha if self.positivity == "clip" else self.eps


def _shape(name, shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool) else shape
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)) or not 1 <= len(shape) <= 2:
        raise TypeError(f"{name} must be (d,) or (M, d) with integers >= 1, got {shape!r}")
    shape = tuple(positive_int(f"{name}[{i}]", s) for i, s in enumerate(shape))
    if int(np.prod(shape)) > 10 ** 8:
        raise ValueError(f"{name} = {shape} has more than 10**8 entries (allowed: at most 10**8)")
    return shape


def _state(state):
    if not isinstance(state, PrecondState):
        raise TypeError(f"state must be a PrecondState, got {type(state).__name__}")
    return state


def make_precond(name: str, **kwargs) -> Preconditioner:
    """Build a :class:`Preconditioner` by name, validating every option."""
    return Preconditioner(name=name, **kwargs)
