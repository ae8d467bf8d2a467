"""Bad-input cases of helper ``eng``: the diagonal preconditioner ``precond`` (None or an array of
shape (D,), finite, > 0) of the engine, the theory face and the dense references.

Format (see test_bad_inputs.py): ``{"twophase.module.function": [(args, kwargs, exc_types, match)]}``.
"""
import numpy as np

from twophase import TwoPhase

V = (ValueError,)
TV = (TypeError, ValueError)

LAM = [1.0, 0.5]
M0 = [0.5, 0.5]
M = TwoPhase(0.1)
MOM = TwoPhase(0.1, nu=1.2, S=2, beta_in=0.5, beta_out=0.5)
NAN = float("nan")

#: bad ``precond`` values for D = 2, with the exception types and the message to match
BAD_PRECOND = [
    ("1,1", TV), (True, TV), ([1.0, 0.0], V), ([1.0, -1.0], V), ([1.0, NAN], V), ([1.0, float("inf")], V),
    ([1.0], V), ([1.0, 1.0, 1.0], V), ([[1.0, 1.0]], V), (1.0, V), ([1j, 1.0], TV),
]


def _precond_cases(args, **kw):
    return [(args, dict(kw, precond=p), exc, "precond") for p, exc in BAD_PRECOND]


CASES = {
    "twophase.engine.expected_loss": _precond_cases((M, LAM, M0, 3)) + _precond_cases((M, LAM, M0, 1))
    + _precond_cases((MOM, LAM, M0, 2)),
    "twophase.engine.sgd_step_moments": _precond_cases((M0, LAM, 0.5, 1)),
    "twophase.engine.inner_phase": _precond_cases((M0, LAM, 0.5, 2, 1)),
    "twophase.engine.effective_spectrum": _precond_cases((M, LAM)) + _precond_cases((MOM, LAM)),
    "twophase.engine.sgd_operator_dense": _precond_cases((LAM, 0.5, 1)),
    "twophase.engine.one_cycle_terms": _precond_cases((LAM, 0.5), S=2, B=1),
    "twophase.engine.dense_cycle_operator": _precond_cases((MOM, LAM)),
    "twophase.theory.expected_loss": _precond_cases((MOM, LAM, M0, 3)),
    "twophase.reference.dense_expected_loss": _precond_cases((M, LAM, M0, 2)),
    "twophase.reference.dense_sla_expected_loss": _precond_cases((MOM, LAM, M0, 2)),
}
CASES.update({
    "twophase.momentum.noiseless_cycle_map": _precond_cases((MOM, LAM)),
    "twophase.momentum.noiseless_radius": _precond_cases((MOM, LAM)),
    "twophase.momentum.per_step_rate": _precond_cases((MOM, LAM)),
})
