"""The library's docstring examples run and print what they say (``doctest`` over every module).

One test per module of ``lib/twophase`` (the runner package ``twophase.book`` included), so
``pytest -q tests`` runs every example in every docstring; a module with a failing example
fails its test.
"""
import doctest
import importlib
from pathlib import Path

import numpy as np
import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "twophase"


def _modules():
    out = []
    for path in sorted(LIB.rglob("*.py")):
        rel = path.relative_to(LIB.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("__init__", "__main__"):
            parts = parts[:-1] if parts[-1] == "__init__" else None
        if parts:
            out.append(".".join(parts))
    return out


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as err:  # an optional dependency of a plotting or book module
        pytest.skip(f"{name}: {err}")
    with np.printoptions(legacy="1.25"):  # examples print plain floats, whatever numpy's repr style
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
                                 verbose=False, report=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"


def test_some_modules_have_examples():
    """The examples are really collected (guards against a finder that sees nothing)."""
    import twophase.engine as en

    finder = doctest.DocTestFinder()
    assert sum(len(t.examples) for t in finder.find(en)) >= 4
