"""Theorem 3.1 (Agarwala 2026) and its general-spectrum extension, on random draws.

Isotropic case: with fixed eta, nu and total batch B_tot = R B, the eigenvalues of the
cycle operator strictly increase with R when S >= 2 (equal when S = 1).
General spectrum: T_R >= T_1 entry-wise at fixed B_tot (equality iff S = 1), hence
rho(T_R) >= rho(T_1).
"""
import numpy as np
import pytest

from twophase import TwoPhase
from twophase import spectra as sp
from twophase import operators as op

FORMS = ("exact", "hd")


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


def draws(rng, n):
    for _ in range(n):
        B_tot = int(rng.choice([4, 6, 8, 12, 16, 24, 32, 64, 96]))
        lam0 = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
        yield dict(
            eta=float(rng.uniform(0.02, 1.9) / lam0),
            nu=float(rng.uniform(0.2, 3.0)),
            S=int(rng.integers(1, 12)),
            B_tot=B_tot,
            lam0=lam0,
            D=int(rng.integers(1, 4000)),
        )


@pytest.mark.parametrize("form", FORMS)
def test_isotropic_eigenvalues_increase_with_R(form):
    """The loss-carrying eigenvalue tau_sym (the spectral radius) strictly increases with R
    (S >= 2); the D - 1 others strictly increase in the exact form and do not depend on R in
    the hd form (there the self term is dropped, so P_B is c^2 off the all-ones vector)."""
    rng = np.random.default_rng(31)
    n_checked = 0
    for p in draws(rng, 300):
        Rs = divisors(p["B_tot"])
        sym, perp = [], []
        for R in Rs:
            m = TwoPhase(p["eta"], p["nu"], S=p["S"], R=R, B=p["B_tot"] // R)
            s, q = op.isotropic_noise(m, p["lam0"], p["D"], form)  # tau minus the R-free signal
            sym.append(float(s))
            perp.append(float(q))
        sym, perp = np.array(sym), np.array(perp)
        if not np.all(np.isfinite(sym)):
            continue
        n_checked += 1
        d_sym, d_perp = np.diff(sym), np.diff(perp)
        if p["S"] == 1:
            assert np.allclose(sym, sym[0], rtol=1e-12, atol=0), f"S=1 must be R-independent: {p} {sym}"
            assert np.allclose(perp, perp[0], rtol=1e-12, atol=0), f"S=1 must be R-independent: {p} {perp}"
        else:
            assert np.all(d_sym > 0), f"tau_sym not strictly increasing in R={Rs}: {p}\n{sym}"
            if form == "exact":
                assert np.all(d_perp > 0), f"tau_perp not strictly increasing in R={Rs}: {p}\n{perp}"
            else:
                assert np.allclose(perp, perp[0], rtol=1e-12, atol=0), f"hd tau_perp must be R-free: {perp}"
        assert np.all(sym >= perp * (1 - 1e-12)), "tau_sym is the largest eigenvalue"
        # the signal part (1 - nu h)^2 does not depend on R or B: tau = signal + noise
        m1 = TwoPhase(p["eta"], p["nu"], S=p["S"], R=1, B=p["B_tot"])
        t1, _ = op.isotropic_eigenvalues(m1, p["lam0"], p["D"], form)
        h = 1 - (1 - p["eta"] * p["lam0"]) ** p["S"]
        assert abs(t1 - ((1 - p["nu"] * h) ** 2 + sym[0])) <= 1e-12 * t1
    assert n_checked > 250


@pytest.mark.parametrize("form", FORMS)
def test_isotropic_matches_full_operator(form):
    """The closed form equals the spectral radius of the full operator (grouped and dense)."""
    rng = np.random.default_rng(7)
    for p in draws(rng, 20):
        D = min(p["D"], 30)
        for R in divisors(p["B_tot"])[:3]:
            m = TwoPhase(p["eta"], p["nu"], S=p["S"], R=R, B=p["B_tot"] // R)
            s, _ = op.isotropic_eigenvalues(m, p["lam0"], D, form)
            lam = sp.identical(D, p["lam0"])
            if not np.isfinite(s) or s > 1e12:
                continue
            r = op.second_moment_radius(m, lam, form, how="dense")
            assert abs(r - s) <= 1e-9 * s, f"closed form {s} vs dense {r} ({p}, R={R})"


@pytest.mark.parametrize("form", FORMS)
def test_general_spectrum_entrywise_domination(form):
    """(1/R)(P_{B_tot/R}^S - C^{2S}) >= (P_{B_tot}^S - C^{2S}) entry-wise, equality iff S = 1;
    hence T_R >= T_1 >= 0 entry-wise and rho(T_R) >= rho(T_1)."""
    rng = np.random.default_rng(2026)
    for trial in range(40):
        D = int(rng.integers(2, 25))
        kind = trial % 3
        if kind == 0:
            lam = sp.power_law(D, float(rng.uniform(-2.5, -0.5)))
        elif kind == 1:
            lam = sp.spiked(D, float(rng.uniform(2, 30)), 0.2)
        else:
            lam = rng.uniform(0.05, 1.0, D)
        B_tot = int(rng.choice([4, 8, 12, 16]))
        S = int(rng.integers(1, 9))
        eta = float(rng.uniform(0.05, 1.8) / lam.max())
        nu = float(rng.uniform(0.2, 3.0))
        T1, _ = op.cycle_operator(TwoPhase(eta, nu, S=S, R=1, B=B_tot), lam, form)
        N1 = T1.noise.dense()
        rho1 = op.second_moment_radius(TwoPhase(eta, nu, S=S, R=1, B=B_tot), lam, form, how="dense")
        for R in divisors(B_tot)[1:]:
            m = TwoPhase(eta, nu, S=S, R=R, B=B_tot // R)
            TR, _ = op.cycle_operator(m, lam, form)
            NR = TR.noise.dense()
            assert np.all(TR.dense() >= 0)
            rel = (NR - N1) / N1
            msg = f"S={S}, R={R}, B_tot={B_tot}, eta={eta:.3g}, nu={nu:.3g}, lam={lam}"
            if S == 1:
                # N = (nu^2/R)(P - C^2) is formed as a difference: allow rounding of the diagonal c^2
                tol = 1e-12 * np.abs(N1) + 4e-16 * np.diag((1 - eta * lam) ** 2)
                assert np.all(np.abs(NR - N1) <= tol), f"S=1 must give equality: {msg}"
            else:
                assert rel.min() > 0, f"noise not strictly larger entry-wise (min rel {rel.min():.3e}): {msg}"
            rhoR = op.second_moment_radius(m, lam, form, how="dense")
            assert rhoR >= rho1 * (1 - 1e-12), f"rho(T_R)={rhoR} < rho(T_1)={rho1}: {msg}"


def test_sqrt_rule_is_R_free_to_leading_order():
    """Under eta -> eta/sqrt(R), nu -> nu sqrt(R) at fixed B_tot, eta^2/B and nu^2/R are
    R-independent and nu h = S nu eta + O(eta^2): the per-cycle decrease 1 - tau_sym agrees
    across R up to a relative correction O(eta) (here checked to scale linearly in eta)."""
    D, B_tot, S, lam0 = 3200, 64, 10, 1.0
    spreads = []
    etas = (1e-6, 1e-5, 1e-4)
    for eta in etas:
        vals = []
        for R in (1, 4, 16):
            m = TwoPhase(eta / np.sqrt(R), np.sqrt(R), S=S, R=R, B=B_tot // R)
            n_sym, _ = op.isotropic_noise(m, lam0, D, "exact")
            nuh = np.sqrt(R) * -np.expm1(S * np.log1p(-eta / np.sqrt(R)))
            vals.append(nuh * (2 - nuh) - float(n_sym))  # 1 - tau_sym without cancellation
        spreads.append(np.ptp(vals) / np.mean(vals))
    ratios = np.array(spreads[1:]) / np.array(spreads[:-1])
    assert np.all((ratios > 7) & (ratios < 13)), f"spread not O(eta): {spreads}"
    assert spreads[0] < 1e-4, spreads
