"""twophase: exact theory and exact simulation of two-phase optimizers.

Companion library to A. Agarwala, *High dimensional theory of two-phase
optimizers* (arXiv 2603.26954) and S. Chezhegov et al., *Local Methods with
Adaptivity via Scaling* (arXiv 2406.00846).

Modules: :mod:`~twophase.spectra` (problems), :mod:`~twophase.methods`
(optimizer descriptions), :mod:`~twophase.theory` (exact expected loss),
:mod:`~twophase.simulate` (Monte-Carlo), :mod:`~twophase.notebook` (book
helpers), :mod:`~twophase.book` (runner), :mod:`~twophase.local` (Part II).
"""
__version__ = "0.1.0"

from .methods import SGD, TwoPhase  # noqa: E402

__all__ = ["SGD", "TwoPhase", "__version__"]
