"""Argument validators for :mod:`twophase.local`, shared with the rest of the package.

They live in :mod:`twophase._validate`; every error names the parameter and
states the allowed range.
"""
from __future__ import annotations

from .._validate import choice, open_unit, positive_int
from .._validate import nonnegative_real as nonneg_float
from .._validate import positive_real as positive_float

__all__ = ["positive_float", "positive_int", "open_unit", "choice", "nonneg_float"]
