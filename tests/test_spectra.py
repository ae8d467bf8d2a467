"""Spectra and initial conditions: shapes, ordering, normalisation, bad input."""
import numpy as np
import pytest

from twophase import spectra as sp


def test_spectra_are_descending_float64():
    for lam in (sp.identical(7, 2.0), sp.spiked(300), sp.power_law(50)):
        assert lam.dtype == np.float64
        assert np.all(np.diff(lam) <= 0), "eigenvalues must be in descending order"


def test_spiked_counts_and_values():
    lam = sp.spiked(1000, ratio=20.0, fraction=0.01, base=0.5)
    assert np.sum(lam == 10.0) == 10 and np.sum(lam == 0.5) == 990


def test_power_law_values():
    lam = sp.power_law(4, alpha=-1.5)
    np.testing.assert_allclose(lam, np.arange(1, 5) ** -1.5, rtol=0, atol=0)


def test_initial_moments_normalised():
    lam = sp.power_law(100)
    iso = sp.initial_moments(lam)
    np.testing.assert_allclose(iso, 1 / 100)
    src = sp.initial_moments(lam, "source", exponent=0.5)
    assert abs(src.sum() - 1) < 1e-14
    np.testing.assert_allclose(src / src[0], (lam / lam[0]) ** -0.5, rtol=1e-12)


@pytest.mark.parametrize("call, name", [
    (lambda: sp.identical(0), "D"),
    (lambda: sp.identical(3.5), "D"),
    (lambda: sp.identical(3, -1.0), "value"),
    (lambda: sp.spiked(10, fraction=1.5), "fraction"),
    (lambda: sp.spiked(10, ratio=np.nan), "ratio"),
    (lambda: sp.power_law(10, alpha=0.5), "alpha"),
    (lambda: sp.initial_moments([1.0, -1.0]), "lam"),
    (lambda: sp.initial_moments([1.0, np.inf]), "lam"),
    (lambda: sp.initial_moments([1.0, 2.0], kind="flat"), "kind"),
    (lambda: sp.initial_moments([1.0, 2.0], kind="source", exponent=-1), "exponent"),
])
def test_bad_input_names_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
