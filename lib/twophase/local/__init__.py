"""Part II: Local SGD with scaling (Chezhegov et al., 2024), re-implemented.

Layers (each module imports only the ones above it):

* :mod:`._checks` - argument validators (strict types, ranges, shapes, sizes);
* :mod:`.nn` (numpy MLP with hand-written backprop), :mod:`.problems` (distributed test
  problems and data splits), :mod:`.precond` (identity / rmsprop / adam / oasis diagonal
  preconditioners);
* :mod:`.method` - the scaled local method, :func:`run_local`;
* :mod:`.tune` - step-size tuning, rounds to target, win/tie/loss of two methods;
* :mod:`.experiments` (chapters 5 and 6: closed forms, studies, checks) and :mod:`.digits`
  (chapter 7: the neural-network grid, gradient-work accounting, tallies, the eps diagnosis);
* :mod:`.figures` - drawing only, from the results of the two modules above.

The package namespace re-exports the method, the preconditioners, the problems and the tuning
helpers; the experiment modules are imported by their full name.
"""
from .method import MODES, STATS, LocalResult, run_local, streams
from .nn import MLP
from .precond import PRECONDITIONERS, Preconditioner, PrecondState, make_precond
from .problems import (Logistic, MLPClassifier, Quadratic, check_shards, dirichlet_shards,
                       fd_hvp, iid_shards, load_digits_split, make_logistic, make_quadratic,
                       rademacher)
from .tune import TuneResult, log_grid, rounds_to_target, tune_gamma

__all__ = [
    "run_local", "LocalResult", "streams", "STATS", "MODES", "MLP",
    "Preconditioner", "PrecondState", "make_precond", "PRECONDITIONERS",
    "Quadratic", "Logistic", "MLPClassifier", "make_quadratic", "make_logistic",
    "iid_shards", "dirichlet_shards", "check_shards", "fd_hvp", "rademacher",
    "load_digits_split", "TuneResult", "tune_gamma", "rounds_to_target", "log_grid",
]
