"""Assertion helpers shared by the test modules (imported as ``from helpers import close``)."""
import numpy as np


MACHINE_RTOL = 1e-12  # machine precision for a few hundred floating-point operations per entry


def close(a, b, what, rtol=MACHINE_RTOL):
    """Assert ``a`` equals ``b`` to relative tolerance ``rtol`` entry-wise, printing both sides."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{what}: shapes {a.shape} vs {b.shape}"
    err = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))
    assert err <= rtol, f"{what}: max rel. error {err:.3e} > {rtol:.0e}\n lhs={a}\n rhs={b}"
