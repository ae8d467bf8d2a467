"""Bad-input cases of helper p2 (Part II with runs as an array axis): ``run_local_many`` and
the new options of ``run_local`` (``curves``) and ``tune_gamma`` (``vectorized``, ``executor``).

Format (COMMON.md): ``CASES = {"twophase.module.name": [(args, kwargs, exc_types, match), ...]}``.
"""
import numpy as np

from twophase.local import make_quadratic

T, V = TypeError, ValueError
Q = make_quadratic(4, 2, kappa=10.0, sigma=0.1, rng=0)
Q3 = make_quadratic(4, 3, kappa=10.0, sigma=0.1, rng=0)       # 3 workers, not 2
Q5 = make_quadratic(5, 2, kappa=10.0, sigma=0.1, rng=0)       # d = 5, not 4
X0 = np.zeros(4)
KW = dict(gammas=[0.1, 0.2], seeds=0, H=2, rounds=2)
RM = "twophase.local.method.run_local_many"
DG = "twophase.local.digits."
GRID = dict(Ms=[2], Hs=[1], splits=["iid"], methods=["identity"], grids={"identity": [0.1]}, rounds=1, seeds=[0],
            tune_seed=0, alpha=1e-3, beta=0.9, hidden=2)
GRID_RES = {(2, 1, "iid", "adam"): {"gamma": 0.1, "loss": np.ones((2, 2)), "acc": np.ones((2, 2))}}

CASES = {
    RM: [((Q, X0), dict(KW, gammas=[0.1, "0.2"]), (T,), "gammas[1]"),
         ((Q, X0), dict(KW, gammas=[0.1, -1.0]), (V,), "gammas[1]"),
         ((Q, X0), dict(KW, gammas=[0.1, float("nan")]), (V,), "gammas[1]"),
         ((Q, X0), dict(KW, gammas=[]), (V,), "number of runs"),
         ((Q, X0), dict(KW, seeds=[0, 1, 2]), (V,), "number of runs"),
         ((Q, X0), dict(KW, seeds=[0, -1]), (V,), "seeds[1]"),
         ((Q, X0), dict(KW, seeds=[0, True]), (T,), "seeds[1]"),
         ((Q, X0), dict(KW, seeds="0"), (T,), "seeds"),
         (([Q, Q3], X0), KW, (V,), "same number of workers"),
         (([Q, Q5], X0), KW, (V,), "same dimension"),
         (([Q, "Q"], X0), KW, (T,), "problems[1]"),
         (([], X0), KW, (V,), "problems"),
         (("Q", X0), KW, (T,), "problems"),
         ((Q, np.zeros((3, 4))), KW, (V,), "number of runs"),
         ((Q, np.zeros((2, 5))), KW, (V,), "x0"),
         ((Q, np.full((2, 4), np.inf)), KW, (V,), "x0"),
         ((Q, X0), dict(KW, H=0), (V,), "H"),
         ((Q, X0), dict(KW, rounds=1.5), (T,), "rounds"),
         ((Q, X0), dict(KW, precond="adagrad"), (V,), "name"),
         ((Q, X0), dict(KW, curves=1), (T,), "curves"),
         ((Q, X0), dict(KW, curves=False, stop_at=0.1), (V,), "curves"),
         ((Q, X0), dict(KW, metrics={"m": 3}), (T,), "metrics"),
         ((Q, X0), dict(KW, gammas=[0.1] * 10 ** 3, rounds=10 ** 7), (V,), "5e10")],
    "twophase.local.method.run_local": [((Q, X0), dict(gamma=0.1, H=1, rounds=1, curves="no"), (T,), "curves"),
                                        ((Q, X0), dict(gamma=0.1, H=1, rounds=1, seed=[0, 1]), (T,), "seed")],
    "twophase.local.tune.tune_gamma": [((lambda g: g, [0.1]), dict(vectorized="yes"), (T,), "vectorized"),
                                       ((lambda g: [1.0], [0.1, 0.2]), dict(vectorized=True), (V,),
                                        "score(grid)"),
                                       ((lambda g: g, [0.1]), dict(executor="threads"), (T,), "executor")],
    DG + "digits_grid": [((), dict(GRID, executor="threads"), (T,), "executor"),
                         ((), dict(GRID, executor=4), (T,), "executor")],
    DG + "eps_study": [((GRID_RES,), dict(M=2, H=1, split="iid", methods=["adam"], grid=[0.1], rounds=1, seeds=[0, 1],
                                          tune_seed=0, alpha=1e-3, beta=0.9, hidden=2, executor="threads"),
                        (T,), "executor")],
    DG + "ablation_study": [((0.1,), dict(M=2, H=1, split="iid", rounds=1, seeds=[0, 1], alpha=1e-3, beta=0.9,
                                          hidden=2, executor=object()), (T,), "executor")],
}
