"""Immutable descriptions of two-phase optimizers.

One outer step ("cycle") of :class:`TwoPhase`:

1. every worker ``r = 1..R`` starts from the global iterate ``theta`` and runs
   ``S`` inner steps of heavy-ball SGD on its own fresh batches of size ``B``:
   ``u <- beta_in * u + g``, ``theta_r <- theta_r - eta * u``;
2. the pseudo-gradient ``Delta = theta - mean_r theta_r`` drives the outer step
   with rate ``nu`` and momentum ``beta_out`` (heavy ball or Nesterov).

Without momentum this is LA-DiLoCo; ``R = 1`` is Lookahead (LA); ``nu = 1``
is plain averaging (Local SGD). See :cite:`agarwala2026twophase`,
:cite:`zhang2019lookahead`, :cite:`douillard2023diloco`.

Owns: the optimizer descriptions :class:`TwoPhase` and :func:`SGD`, validated on construction
(no string or bool is taken for a number). May import: :mod:`twophase._validate`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import _validate as v

__all__ = ["TwoPhase", "SGD", "OUTER", "INNER_MOMENTUM"]

OUTER = ("heavy_ball", "nesterov")
INNER_MOMENTUM = ("reset", "carry")


@dataclass(frozen=True, eq=False)
class TwoPhase:
    """A two-phase optimizer (LA, LA-DiLoCo, SLA), validated on construction.

    Parameters
    ----------
    eta : float or array_like
        Inner learning rate, finite and > 0. Arrays are allowed for vectorised
        theory (they broadcast against ``nu``).
    nu : float or array_like
        Outer learning rate, finite and > 0 (``nu = 1``: plain averaging).
    S : int
        Inner steps per cycle, >= 1.
    R : int
        Workers, >= 1.
    B : int
        Batch size per worker, >= 1; the total batch is ``B_tot = R * B``.
    beta_in, beta_out : float
        Inner / outer momentum in [0, 1).
    outer : {"heavy_ball", "nesterov"}
        Outer momentum type.
    inner_momentum : {"reset", "carry"}
        Inner momentum buffer reset to zero each cycle, or carried across cycles.
    """

    eta: float
    nu: float = 1.0
    S: int = 1
    R: int = 1
    B: int = 1
    beta_in: float = 0.0
    beta_out: float = 0.0
    outer: str = "heavy_ball"
    inner_momentum: str = "reset"

    def __post_init__(self):
        set_ = lambda k, x: object.__setattr__(self, k, x)  # noqa: E731 (frozen dataclass)
        set_("eta", v.positive_real("eta", self.eta, allow_array=True))
        set_("nu", v.positive_real("nu", self.nu, allow_array=True))
        set_("S", v.positive_int("S", self.S))
        set_("R", v.positive_int("R", self.R))
        set_("B", v.positive_int("B", self.B))
        set_("beta_in", v.unit_interval("beta_in", self.beta_in))
        set_("beta_out", v.unit_interval("beta_out", self.beta_out))
        v.choice("outer", self.outer, OUTER)
        v.choice("inner_momentum", self.inner_momentum, INNER_MOMENTUM)
        try:
            np.broadcast_shapes(np.shape(self.eta), np.shape(self.nu))
        except ValueError:
            raise ValueError(
                f"eta and nu must broadcast against each other, got shapes "
                f"{np.shape(self.eta)} and {np.shape(self.nu)}"
            ) from None

    @property
    def B_tot(self) -> int:
        """Total batch per inner step across workers, ``R * B``."""
        return self.R * self.B

    @property
    def has_momentum(self) -> bool:
        """True if either momentum is non-zero."""
        return self.beta_in > 0 or self.beta_out > 0

    @property
    def grid_shape(self) -> tuple:
        """Broadcast shape of ``eta`` and ``nu``."""
        return np.broadcast_shapes(np.shape(self.eta), np.shape(self.nu))

    def replace(self, **changes) -> "TwoPhase":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        def fmt(x):
            return f"array{np.shape(x)}" if np.ndim(x) else f"{x:g}"

        parts = [f"eta={fmt(self.eta)}", f"nu={fmt(self.nu)}", f"S={self.S}", f"R={self.R}", f"B={self.B}"]
        if self.beta_in:
            parts.append(f"beta_in={self.beta_in:g}, inner_momentum={self.inner_momentum!r}")
        if self.beta_out:
            parts.append(f"beta_out={self.beta_out:g}, outer={self.outer!r}")
        return "TwoPhase(" + ", ".join(parts) + ")"


def SGD(eta, B: int = 1) -> TwoPhase:
    """Plain minibatch SGD as a degenerate two-phase method: ``TwoPhase(eta, nu=1, S=1, R=1, B=B)``.

    Examples
    --------
    >>> SGD(0.5, B=4)
    TwoPhase(eta=0.5, nu=1, S=1, R=1, B=4)
    """
    return TwoPhase(eta=eta, nu=1.0, S=1, R=1, B=B)
