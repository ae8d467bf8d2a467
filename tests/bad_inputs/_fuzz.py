"""Fuzz every parameter of every good call in _gen.GOOD with generic bad values (a developer's check,
not collected by pytest): ``python tests/bad_inputs/_fuzz.py`` prints the calls that return (``silent``:
often a legitimate value, e.g. a string for a text parameter), raise something else (``other``) or
raise without naming the parameter (``unnamed``). Run from the repository root; it may write
figures and claims to ``_build/interactive``."""
import contextlib
import inspect
import io
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.simplefilter("ignore")

import _gen  # noqa: E402
import test_bad_inputs as t  # noqa: E402  (imports every cases_*.py, which fills _gen.GOOD)

VALUES = {"None": None, "str": "x", "True": True, "nan": float("nan"), "neg": -1, "empty": [], "dict": {},
          "obj": object()}
res = {"refused": 0, "other": [], "silent": [], "hang": [], "unnamed": []}
for key, calls in _gen.GOOD.items():
    args, kwargs = calls[0]
    sig = inspect.signature(_gen.resolve(key))
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        for vname, val in VALUES.items():
            b = sig.bind(*args, **kwargs)
            b.arguments[name] = val
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                st, msg = t.run_case(key, tuple(b.args), dict(b.kwargs), (ValueError,), None)
            if st == "refused":
                if name not in msg:
                    res["unnamed"].append((key, name, vname, msg[:150]))
                else:
                    res["refused"] += 1
            else:
                res[st if st in res else "other"].append((key, name, vname, msg[:150]))
print("refused", res["refused"])
for k in ("other", "silent", "hang", "unnamed"):
    print("==", k, len(res[k]))
    for r in res[k]:
        print("  ", r)
