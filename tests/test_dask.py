"""A real Dask cluster runs the Monte-Carlo: a ``dask.distributed.LocalCluster`` of two worker
processes (one thread each), started here, gets ``loss_curves``'s chunks and a sweep's through
``Client.get_executor()``, and the numbers equal the serial ones bit for bit.

Skipped (with a message) only where dask is not installed and ``CI`` is not set; under CI
dask and distributed are pinned in requirements.txt, so the test must run.
"""
import os

import numpy as np
import pytest

from twophase import TwoPhase
from twophase import simulate as sim
from twophase import spectra as sp
from twophase import sweeps as sw

try:
    from dask.distributed import Client, LocalCluster
except ImportError:  # pragma: no cover - dask is pinned in requirements.txt
    if os.environ.get("CI"):
        raise
    pytest.skip("dask.distributed is not installed (pip install -r requirements.txt)",
                allow_module_level=True)


def test_local_cluster_gives_the_serial_numbers_bit_for_bit():
    """loss_curves (SLA with a preconditioner, 6 chunks) and simulate_r_sweep on a two-process
    LocalCluster equal the same calls run serially, bit for bit."""
    lam = sp.power_law(60, -1.5)
    m0 = sp.initial_moments(lam)
    method = TwoPhase(0.4, nu=1.3, S=3, R=2, B=4, beta_in=0.3, beta_out=0.2)
    seeds = 5 * sim.seeds_per_chunk(60, R=2) + 11
    kw = dict(sigma=0.2, seed=21, precond=np.linspace(0.7, 1.2, 60))
    sweep_kw = dict(S=2, B_tot=4, Rs=[1, 2], cycles=3, seeds=300, seed=4, progress=False)
    serial = sim.loss_curves(method, lam, m0, 5, seeds, executor="serial", **kw)
    serial_sweep = sw.simulate_r_sweep(lam, m0, [0.3, 0.6], 1.2, executor="serial", **sweep_kw)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        executor = client.get_executor()
        got = sim.loss_curves(method, lam, m0, 5, seeds, executor=executor, **kw)
        got_sweep = sw.simulate_r_sweep(lam, m0, [0.3, 0.6], 1.2, executor=executor, **sweep_kw)
        workers = client.run(os.getpid)
    assert len(set(workers.values()) - {os.getpid()}) == 2  # two separate worker processes
    assert got.shape == (seeds, 6) and np.array_equal(got, serial)
    for R in (1, 2):
        assert np.array_equal(got_sweep[R], serial_sweep[R]), R
