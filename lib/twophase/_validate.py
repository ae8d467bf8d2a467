"""Argument checks shared by the whole package (the lowest layer: imports numpy only).

Owns: the validators every public function uses. Every check raises an error whose message
names the parameter and its allowed range, e.g. ``"eta must be a finite number > 0 (allowed
range (0, inf)), got -1.0"``. A value of the wrong *type* (a string, a bool, ``None``, a
complex number where a real is wanted) raises :class:`ArgumentTypeError`, which is both a
``TypeError`` and a ``ValueError``, so callers that catch either see it; values are never
coerced silently (``"0.5"`` is not ``0.5`` and ``True`` is not ``1``).

Sizes are checked too: :func:`array_size` refuses arrays that would not fit comfortably in
memory and :func:`work_estimate` refuses computations that would run for minutes, in both
cases with the estimate and how to proceed.

May import: numpy and the standard library only.
"""
from __future__ import annotations

import numbers

import numpy as np

#: Largest number of float64 entries a single array may have (``2**27``: 1 GiB).
MAX_ENTRIES = 2 ** 27
#: Largest dimension ``D`` of a problem (80 MB per float64 vector).
MAX_D = 10 ** 7
#: Work that would take longer than this many seconds (at the measured speed) is refused.
WORK_LIMIT_SECONDS = 120.0


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a ``TypeError`` that is also a ``ValueError``)."""


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def _type_error(name, expected, value):
    return ArgumentTypeError(f"{name} must be {expected}, got {type(value).__name__} {value!r:.80}")


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``, or raise naming ``name``."""
    if minimum is not None and maximum is None:
        allowed = f"an integer >= {minimum} (allowed range {minimum}, {minimum + 1}, {minimum + 2}, ...)"
    else:
        lo = "-inf" if minimum is None else str(minimum)
        hi = "inf" if maximum is None else f"{maximum:,}"
        allowed = f"an integer in [{lo}, {hi}] (allowed range)"
    if _is_bool(value) or not isinstance(value, (numbers.Integral, np.integer)):
        raise _type_error(name, allowed, value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def positive_int(name: str, value, maximum: int | None = None) -> int:
    """Return ``value`` as an int >= 1 (and <= ``maximum``), or raise naming ``name``."""
    return integer(name, value, minimum=1, maximum=maximum)


def nonnegative_int(name: str, value, maximum: int | None = None) -> int:
    """Return ``value`` as an int >= 0 (and <= ``maximum``), or raise naming ``name``."""
    return integer(name, value, minimum=0, maximum=maximum)


def dimension(name: str, value) -> int:
    """A problem dimension ``1 <= D <= MAX_D``; larger ones are refused with a memory estimate."""
    if _is_bool(value) or not isinstance(value, (numbers.Integral, np.integer)):
        raise _type_error(name, f"an integer in [1, {MAX_D:,}]", value)
    value = int(value)
    if value > MAX_D:
        raise ValueError(f"{name} = {value:,} would need {_bytes(8 * value)} per float64 vector; "
                         f"{name} must be an integer in [1, {MAX_D:,}] (allowed range). Use a smaller "
                         f"{name}: the theory depends on the spectrum's shape, not on its size")
    return positive_int(name, value)


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def array_size(name: str, n_entries: float, what: str = "") -> None:
    """Refuse an array of ``n_entries`` float64 values above :data:`MAX_ENTRIES`."""
    if n_entries > MAX_ENTRIES:
        raise ValueError(f"{name} too large: {what + ' ' if what else ''}needs {float(n_entries):.3g} "
                         f"float64 entries ({_bytes(8.0 * n_entries)}), above the limit of "
                         f"{MAX_ENTRIES:,} ({_bytes(8.0 * MAX_ENTRIES)}); reduce {name}")


def work_estimate(seconds: float, what: str, how: str) -> None:
    """Refuse work estimated at more than :data:`WORK_LIMIT_SECONDS` seconds.

    ``what`` names the computation and its size, ``how`` says how to proceed.
    """
    if not seconds <= WORK_LIMIT_SECONDS:
        raise ValueError(f"{what} would take about {seconds:.3g} s (estimated at the measured speed; "
                         f"the limit is {WORK_LIMIT_SECONDS:.0f} s). To proceed: {how} (or raise "
                         f"twophase._validate.WORK_LIMIT_SECONDS)")


def _as_float_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array; strings, bools, None, complex and objects are refused."""
    if isinstance(value, (str, bytes)) or value is None or _is_bool(value):
        raise _type_error(name, "a real number or an array of real numbers", value)
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError):
            raise _type_error(name, "a real number or an array of real numbers", value) from None
    if arr.dtype.kind not in "iuf":
        raise _type_error(name, f"a real number or an array of real numbers (dtype {arr.dtype} refused)",
                          value)
    return np.asarray(arr, dtype=np.float64)


def real_array(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """A non-empty float64 array of finite reals (of ``ndim`` dimensions if given)."""
    arr = _as_float_array(name, value)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    array_size(name, arr.size)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), allowed range (-inf, inf)")
    return arr


def real(name: str, value) -> float:
    """A finite real scalar."""
    arr = _as_float_array(name, value)
    if arr.ndim:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    if not np.isfinite(arr):
        raise ValueError(f"{name} must be a finite number (allowed range (-inf, inf)), got {value!r}")
    return float(arr)


def positive_real(name: str, value, *, allow_array: bool = False):
    """A finite real > 0 (scalar, or array if ``allow_array``)."""
    arr = _as_float_array(name, value)
    if arr.ndim and not allow_array:
        raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    array_size(name, arr.size)
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(f"{name} must be a finite number > 0 (allowed range (0, inf)), got {value!r:.80}")
    return float(arr) if arr.ndim == 0 else _readonly(arr)



def positive_grid(name: str, value) -> np.ndarray:
    """A scalar or 1-D array of finite reals > 0, as a float64 1-D array (a grid axis)."""
    x = np.atleast_1d(positive_real(name, value, allow_array=True))
    if x.ndim != 1:
        raise ValueError(f"{name} must be a scalar or 1-D array, got shape {x.shape}")
    return np.asarray(x, dtype=np.float64)

def nonnegative_real(name: str, value) -> float:
    """A finite real scalar >= 0."""
    arr = _as_float_array(name, value)
    if arr.ndim or not np.isfinite(arr) or arr < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (allowed range [0, inf)), got {value!r:.80}")
    return float(arr)


def unit_interval(name: str, value) -> float:
    """A real scalar in [0, 1)."""
    arr = _as_float_array(name, value)
    if arr.ndim or not np.isfinite(arr) or not (0.0 <= arr < 1.0):
        raise ValueError(f"{name} must be a scalar in [0, 1) (allowed range), got {value!r:.80}")
    return float(arr)


def open_unit(name: str, value) -> float:
    """A real scalar in the open interval (0, 1)."""
    arr = _as_float_array(name, value)
    if arr.ndim or not np.isfinite(arr) or not (0.0 < arr < 1.0):
        raise ValueError(f"{name} must lie in the open interval (0, 1) (allowed range), got {value!r:.80}")
    return float(arr)


def choice(name: str, value, allowed) -> str:
    """One of the strings in ``allowed``."""
    opts = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise _type_error(name, f"one of {opts}", value)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {opts} (allowed values), got {value!r}")
    return value


def flag(name: str, value) -> bool:
    """A Python or numpy bool."""
    if not _is_bool(value):
        raise _type_error(name, "a bool (True or False)", value)
    return bool(value)


def eigenvalues(lam, name: str = "lam") -> np.ndarray:
    """A non-empty 1-D float64 array of finite eigenvalues >= 0 (at most :data:`MAX_D`)."""
    arr = _as_float_array(name, lam)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of eigenvalues, got shape {arr.shape}")
    if arr.size > MAX_D:
        dimension(f"len({name})", arr.size)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), allowed range [0, inf)")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0 (a covariance spectrum; allowed range [0, inf)), "
                         f"got min {arr.min()!r}")
    return arr


def moments(m0, D: int, name: str = "m0") -> np.ndarray:
    """Initial second moments: 1-D, length ``D``, finite, >= 0."""
    arr = _as_float_array(name, m0)
    if arr.shape != (D,):
        raise ValueError(f"{name} must have shape ({D},) to match lam, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0 (second moments; allowed range [0, inf))")
    return arr


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr = np.array(arr, dtype=np.float64, copy=True)
    arr.setflags(write=False)
    return arr


def real_float_array(name: str, value, what: str) -> np.ndarray:
    """``value`` as a float64 array if it holds real numbers (ints or floats, any shape).

    Strings, bytes, dicts, ``None``, bools and arrays of any other dtype (object, complex, bool)
    raise :class:`ArgumentTypeError` saying ``name must be <what>``; values are not range-checked.
    """
    if isinstance(value, (str, bytes, dict)) or value is None or _is_bool(value):
        raise _type_error(name, what, value)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise _type_error(name, what, value) from None
    if arr.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"{name} must be {what} (dtype {arr.dtype} refused), got "
                                f"{type(value).__name__} {value!r:.80}")
    return np.asarray(arr, dtype=np.float64)
