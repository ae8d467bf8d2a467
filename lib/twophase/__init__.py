"""twophase: exact theory and exact simulation of two-phase optimizers.

Companion library to A. Agarwala, *High dimensional theory of two-phase
optimizers* (arXiv 2603.26954) and S. Chezhegov et al., *Local Methods with
Adaptivity via Scaling* (arXiv 2406.00846).

``import twophase as tp`` gives :class:`TwoPhase` and :func:`SGD`; every submodule is
reachable as an attribute and imported on first use (PEP 562), as in scipy:
``tp.spectra.power_law(10)``, ``tp.theory.expected_loss(...)``,
``tp.simulate.loss_curves(...)``, ``tp.local``. The layers, lowest first, are listed in the
README ("How the library is built").
"""
__version__ = "0.1.0"

import importlib as _importlib

from .methods import SGD, TwoPhase  # noqa: E402

#: Submodules reachable as ``twophase.<name>`` (imported lazily on first access).
SUBMODULES = ("spectra", "methods", "engine", "theory", "operators", "momentum", "simulate", "summaries",
              "reference", "parallel", "sweeps", "bench", "scaled", "plotting", "notebook", "local", "experiments", "book")

__all__ = ["SGD", "TwoPhase", "__version__"]


def __getattr__(name):
    if name in SUBMODULES:
        try:
            return _importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(SUBMODULES))
