"""twophase.parallel: the worker cap, chunks fixed by the problem, and map_chunks keeping order
whatever executor runs the chunks."""
import concurrent.futures as cf

import numpy as np
import pytest

from twophase import parallel as par


def _draw(seed_seq, n):
    return np.random.default_rng(seed_seq).standard_normal(n)


def test_max_workers_reads_the_cap(monkeypatch):
    monkeypatch.delenv(par.ENV_MAX_WORKERS, raising=False)
    cores = par.max_workers()
    assert cores >= 1
    monkeypatch.setenv(par.ENV_MAX_WORKERS, "1")
    assert par.max_workers() == 1
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(par.ENV_MAX_WORKERS, bad)
        with pytest.raises(ValueError, match=par.ENV_MAX_WORKERS):
            par.max_workers()


def test_chunk_slices_cover_the_range_once():
    for n, size in [(1, 1), (7, 3), (8, 4), (3, 10)]:
        idx = np.concatenate([np.arange(n)[s] for s in par.chunk_slices(n, size)])
        assert idx.tolist() == list(range(n)), (n, size)


def test_chunk_seeds_are_fixed_by_the_seed_and_distinct():
    a = [s.generate_state(2).tolist() for s in par.chunk_seeds(3, 4)]
    b = [s.generate_state(2).tolist() for s in par.chunk_seeds(3, 4)]
    assert a == b
    assert len({tuple(x) for x in a}) == 4
    assert a != [s.generate_state(2).tolist() for s in par.chunk_seeds(4, 4)]


@pytest.mark.parametrize("executor", ["serial", None, "threads", "processes"])
def test_map_chunks_gives_the_serial_numbers_bit_for_bit(executor, monkeypatch):
    monkeypatch.setenv(par.ENV_MAX_WORKERS, "2")
    tasks = [(s, 1000) for s in par.chunk_seeds(7, 5)]
    serial = par.map_chunks(_draw, tasks, executor="serial")
    if executor == "threads":
        with cf.ThreadPoolExecutor(3) as pool:
            got = par.map_chunks(_draw, tasks, executor=pool)
    elif executor == "processes":
        with cf.ProcessPoolExecutor(2) as pool:
            got = par.map_chunks(_draw, tasks, executor=pool)
    else:
        got = par.map_chunks(_draw, tasks, executor=executor)
    assert len(got) == len(serial)
    for x, y in zip(got, serial):
        assert np.array_equal(x, y)
