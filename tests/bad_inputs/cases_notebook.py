"""Bad-input cases for ``twophase.notebook`` (issue 9).

``claim`` takes only a real bool (Python ``bool`` or ``numpy.bool_``) as ``holds``: a number, a
string, an array, ``None`` or a NaN would otherwise pass as "truthy" or "falsy". Every case is
refused before anything is recorded or written. (``context``, ``claims_so_far`` and
``paper_claims_so_far`` take no argument: see ``EXEMPT`` in test_bad_inputs.py.)
"""
import numpy as np
from _gen import Bad, vary
from matplotlib.figure import Figure

NB = "twophase.notebook."
FIG = Figure()
HOLDS_BAD = [1, 0, 1.0, float("nan"), "True", "", None, np.array([True]), np.array(True, dtype=object), [True]]

CASES = {
    NB + "claim": vary(NB + "claim", ("ch-key", True, "detail"),
                       key=["", "  ", None, 1, ["k"]], holds=HOLDS_BAD),
    NB + "paper_claim": vary(NB + "paper_claim", ("I-x", "reproduced", "where", "fig-x"), dict(checks=["ch-key"]),
                             id=["", None, 1], verdict=["holds", "Reproduced", None, True, ["reproduced"]],
                             conditions=["", " ", None], evidence=["", 3, None],
                             checks=["a-check", [1], None, 1, Bad(iter(["a"]), "checks must")]),
    NB + "show_figure": vary(NB + "show_figure", (FIG, "ch_x", "A caption."),
                             fig=[None, "fig", np.ones((2, 2))],
                             name=["", "a b", "../x", None, 1, "x.png"],
                             caption=[None, 1, Bad("", "caption must be a non-empty")],
                             display=[1, "yes", None]),
}
