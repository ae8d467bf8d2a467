"""The record a chapter passes to :func:`twophase.notebook.paper_claim` (shared by the experiments)."""
from __future__ import annotations

from typing import NamedTuple

__all__ = ["PaperVerdict"]


class PaperVerdict(NamedTuple):
    """A computed verdict on one claim of a paper: ``paper_claim(*verdict)`` records it."""

    id: str
    verdict: str       #: one of :data:`twophase.notebook.VERDICTS`
    conditions: str    #: where it holds and where not, with the numbers
    evidence: str      #: MyST label in the chapter
    checks: list       #: claim keys that decide it


def grade(holds: bool, everywhere: bool = True) -> str:
    """``"reproduced"`` if it holds everywhere tested, ``"reproduced under conditions"`` if only in part."""
    if not holds:
        return "not reproduced"
    return "reproduced" if everywhere else "reproduced under conditions"


def expect(name: str, value, cls, producer: str = ""):
    """Return ``value`` if it is a ``cls`` (a result type of the experiments), else refuse it.

    The chapters' text helpers take the named results of the experiment functions; anything
    else (a plain tuple, a dict, ``None``) is refused with an
    :class:`~twophase._validate.ArgumentTypeError` that names the parameter and the type wanted.
    """
    from .._validate import ArgumentTypeError

    if not isinstance(value, cls):
        src = f" (as returned by {producer})" if producer else ""
        raise ArgumentTypeError(f"{name} must be a {cls.__name__}{src}, got "
                                f"{type(value).__name__} {value!r:.60}")
    return value


def expect_keys(name: str, value, keys) -> dict:
    """Return the mapping ``value`` if it holds every key in ``keys``, else refuse it by name."""
    from .._validate import ArgumentTypeError

    if not isinstance(value, dict):
        raise ArgumentTypeError(f"{name} must be a dict, got {type(value).__name__} {value!r:.60}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ValueError(f"{name} must hold the keys {list(keys)}; missing {missing}")
    return value
