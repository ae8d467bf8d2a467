"""Where work runs: one ``executor=`` convention for every heavy entry point.

Owns: the default local executor, the worker cap, and the split of seeds and grid points into
chunks that are fixed by the problem (never by the number of workers), each chunk with its own
:class:`numpy.random.SeedSequence` child. Because the split and the seeds depend only on the
problem, the same call gives the same numbers bit for bit on one core, on every local core, or
on a Dask cluster (``dask.distributed.Client(...).get_executor()``).

Conventions used by the heavy entry points (``simulate.loss_curves``, sweeps, Part II's grids and
tuning, the chapters' experiment functions):

* ``executor=None``: every local core (capped by the environment variable
  ``TWOPHASE_MAX_WORKERS``); threads, since the chunks spend their time in numpy calls that
  release the GIL. One worker, or one chunk, runs serially in the calling thread.
* ``executor="serial"``: in the calling thread, one chunk after another.
* ``executor="processes"``: every local core (the same cap), in a pool of processes started
  for the call and shut down after it: for chunks that hold the GIL most of the time (many
  small numpy calls, as in Part II), where threads do not pay. The results come back pickled.
  On Linux the processes are forked (no re-import, and a script needs no ``__main__`` guard);
  where ``fork`` is not available they are spawned, and the function and tasks must pickle.
* any :class:`concurrent.futures.Executor` (a ``ThreadPoolExecutor``, a
  ``ProcessPoolExecutor``, a Dask ``ClientExecutor``): used as given, never shut down here.
  A process or cluster executor needs a picklable, module-level function.

May import: numpy and the standard library only (the lowest layer, beside ``_validate``).
"""
from __future__ import annotations

import concurrent.futures as cf
import os

import numpy as np

from . import _validate as v

__all__ = ["ENV_MAX_WORKERS", "max_workers", "chunk_slices", "chunk_seeds", "map_chunks"]

#: Environment variable capping the number of local workers (a positive integer).
ENV_MAX_WORKERS = "TWOPHASE_MAX_WORKERS"


def _local_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def max_workers() -> int:
    """Number of local workers the default executor uses.

    The cores this process may run on, capped by ``TWOPHASE_MAX_WORKERS`` when it is set.

    Raises
    ------
    ValueError
        If ``TWOPHASE_MAX_WORKERS`` is set but is not a positive integer.
    """
    cores = _local_cores()
    raw = os.environ.get(ENV_MAX_WORKERS, "").strip()
    if not raw:
        return cores
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV_MAX_WORKERS} must be a positive integer (allowed range 1, 2, ...), got {raw!r}")
    return min(cores, int(raw))


def chunk_slices(n: int, size: int) -> list[slice]:
    """Split ``range(n)`` into consecutive slices of ``size`` items (the last may be shorter).

    The split depends on ``n`` and ``size`` alone, never on how many workers there are.

    >>> chunk_slices(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    n = v.positive_int("n", n)
    size = v.positive_int("size", size)
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def chunk_seeds(seed, n_chunks: int) -> list[np.random.SeedSequence]:
    """``n_chunks`` independent children of ``SeedSequence(seed)``, one per chunk, in chunk order.

    >>> [s.generate_state(1)[0] for s in chunk_seeds(0, 2)] == [s.generate_state(1)[0] for s in chunk_seeds(0, 2)]
    True
    """
    n_chunks = v.positive_int("n_chunks", n_chunks)
    if isinstance(seed, np.random.SeedSequence):
        root = seed
    else:
        root = np.random.SeedSequence(v.nonnegative_int("seed", seed))
    return root.spawn(n_chunks)


def _check_executor(executor):
    if executor is None or executor in ("serial", "processes") or isinstance(executor, cf.Executor):
        return executor
    if callable(getattr(executor, "submit", None)):  # duck-typed executors (e.g. Dask's ClientExecutor)
        return executor
    raise v.ArgumentTypeError(
        "executor must be None (every local core), 'serial', 'processes' or a concurrent.futures.Executor, "
        f"got {type(executor).__name__} {executor!r:.80}")


def map_chunks(fn, tasks, executor=None, progress=None) -> list:
    """``[fn(*t) for t in tasks]``, in order, run where ``executor`` says.

    Parameters
    ----------
    fn : callable
        Applied to each task; must be picklable (module-level) for a process or cluster executor.
    tasks : sequence of tuples
        Arguments of each call, in chunk order.
    executor : None, "serial", "processes" or concurrent.futures.Executor
        See the module docstring. A given executor is used as is and not shut down.
    progress : object with ``update(n)``, optional
        Advanced by one in this process as each chunk finishes, whichever executor ran it (a
        ``tqdm`` bar, say).

    Returns
    -------
    list
        The results in task order, whatever order the workers finished in.
    """
    executor = _check_executor(executor)
    if not callable(fn):
        raise v.ArgumentTypeError(f"fn must be callable, got {type(fn).__name__}")
    if progress is not None and not callable(getattr(progress, "update", None)):
        raise v.ArgumentTypeError(f"progress must be None or have an update(n) method, got {type(progress).__name__}")
    tasks = [tuple(t) for t in tasks]
    n = 1 if executor == "serial" or len(tasks) <= 1 else min(max_workers(), len(tasks))
    if executor in ("serial", None, "processes") and n <= 1:
        out = []
        for t in tasks:
            out.append(fn(*t))
            if progress is not None:
                progress.update(1)
        return out
    if executor is None:
        with cf.ThreadPoolExecutor(max_workers=n, thread_name_prefix="twophase") as pool:
            return _gather(pool, fn, tasks, progress)
    if executor == "processes":
        import multiprocessing

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context(method))
        try:
            return _gather(pool, fn, tasks, progress)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return _gather(executor, fn, tasks, progress)


def _gather(executor, fn, tasks, progress=None):
    futures = [executor.submit(fn, *t) for t in tasks]
    if progress is not None:
        import threading

        lock = threading.Lock()

        def tick(f):
            if not f.cancelled():
                with lock:
                    progress.update(1)
        for f in futures:
            f.add_done_callback(tick)
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        raise
