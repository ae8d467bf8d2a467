"""Bad-input cases of helper mc's additions to the Monte-Carlo layer (simulate, sweeps):
the preconditioner of the local steps, the executor, the chunk size.

Format (see test_bad_inputs.py): ``{"twophase.module.function": [(args, kwargs, exc_types, match)]}``.
"""
import numpy as np

from twophase import TwoPhase

V = (ValueError,)
TV = (TypeError, ValueError)

LAM = [1.0, 0.5]
M0 = [0.5, 0.5]
M = TwoPhase(0.1)
ARGS = (M, LAM, M0, 2, 3)

CASES = {
    "twophase.simulate.loss_curves": [
        (ARGS, dict(precond=np.ones(3)), V, "precond"),
        (ARGS, dict(precond=[1.0, 0.0]), V, "precond"),
        (ARGS, dict(precond=[1.0, -2.0]), V, "precond"),
        (ARGS, dict(precond=[1.0, float("nan")]), V, "precond"),
        (ARGS, dict(precond="ones"), TV, "precond"),
        (ARGS, dict(precond=[True, True]), TV, "precond"),
        (ARGS, dict(executor="threads"), TV, "executor"),
        (ARGS, dict(executor=4), TV, "executor"),
    ],
    "twophase.simulate.seeds_per_chunk": [
        ((0,), {}, V, "D"), ((2.5,), {}, TV, "D"), ((10,), dict(R=0), V, "R"), ((10,), dict(B=True), TV, "B"),
        ((10,), dict(sampler="exact"), V, "sampler"),
    ],
    "twophase.sweeps.r_sweep": [
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=2, executor="cluster"), TV, "executor"),
    ],
    "twophase.sweeps.simulate_r_sweep": [
        ((LAM, M0, [0.1], 1.0), dict(S=2, B_tot=4, Rs=[1], cycles=2, seeds=3, executor=2), TV, "executor"),
    ],
}
