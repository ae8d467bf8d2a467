"""The computations the Part I chapters run, one module per chapter topic.

* :mod:`twophase.experiments.sgd` — chapter 1 (SGD: forms, edges, theory against simulation);
* :mod:`twophase.experiments.lookahead` — chapter 2 (Figure 1, best-``nu`` maps, LA against SGD);
* :mod:`twophase.experiments.diloco` — chapter 3 (Theorem 3.1, Figure 2, rates over ``R``);
* :mod:`twophase.experiments.momentum` — chapter 4 (Figure 3, effective spectrum, tuned families).

Each function returns a named result (a NamedTuple, or a dict/list of them) that a chapter states
claims about; :mod:`twophase.plotting` only draws. These modules sit above the library's engine
(``theory``, ``operators``, ``momentum``, ``sweeps``, ``simulate``, ``spectra``, ``reference``) and
import from it; nothing in the engine imports them. Part II keeps its own
:mod:`twophase.local.experiments`.
"""
from . import diloco, lookahead, momentum, sgd
from ._verdict import PaperVerdict

__all__ = ["sgd", "lookahead", "diloco", "momentum", "PaperVerdict"]
