"""Every public name of twophase.local has a bad-input case or an exemption in
tests/bad_inputs/cases_*.py (the cases themselves run in tests/bad_inputs/test_bad_inputs.py)."""
import importlib
import importlib.util
import sys
from pathlib import Path

_BAD_INPUTS = Path(__file__).resolve().parents[1] / "bad_inputs"
if str(_BAD_INPUTS) not in sys.path:  # the case files import their helper module _gen
    sys.path.insert(0, str(_BAD_INPUTS))

_spec = importlib.util.spec_from_file_location("cases_local", _BAD_INPUTS / "cases_local.py")
cases_local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases_local)


def _other_cases():
    """Names of ``twophase.local`` with cases in the other case files (one file per owner)."""
    names = set()
    for path in sorted(_BAD_INPUTS.glob("cases_*.py")):
        if path.stem == "cases_local":
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        names |= {n for n in mod.CASES if n.startswith("twophase.local.")}
        names |= {n for n in getattr(mod, "EXEMPT", {}) if n.startswith("twophase.local.")}
    return names

MODULES = ["method", "precond", "problems", "nn", "tune", "experiments", "digits", "figures", "_checks"]


def _public_names():
    names = {f"twophase.local.{n}" for n in importlib.import_module("twophase.local").__all__}
    for m in MODULES:
        mod = importlib.import_module(f"twophase.local.{m}")
        names |= {f"twophase.local.{m}.{n}" for n in mod.__all__}
    return sorted(names)


def test_every_public_name_has_a_case_or_an_exemption():
    covered = set(cases_local.CASES) | set(cases_local.EXEMPT) | _other_cases()
    missing = [n for n in _public_names() if n not in covered]
    assert not missing, f"no bad-input case for {missing}"
