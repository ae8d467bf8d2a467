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
