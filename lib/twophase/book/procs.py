"""Child processes that die with the runner.

Every process the runner starts (the notebook executor, Jupyter Book) runs in its own process
group, so that the runner can stop it with everything it started, and carries a *parent-death
signal* (Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``): if the runner itself is killed outright
(SIGKILL, OOM killer), the kernel delivers SIGKILL to the child, which cannot be left behind as
an orphan. The executor gives the notebook kernel it starts the same death signal
(:class:`DyingKernelManager`), so the chain runner -> executor -> kernel has no survivor.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys

__all__ = ["set_death_signal", "child_preexec", "popen", "stop", "DyingKernelManager",
           "kernel_dirs", "remove_kernel_dirs"]

_PR_SET_PDEATHSIG = 1


def set_death_signal(parent_pid: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (``True`` if set).

    If ``parent_pid`` is given and the parent is already gone (the race between ``fork`` and
    this call), the process exits at once. A no-op returning ``False`` off Linux.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        ok = libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)
    return ok


def child_preexec(new_group: bool = True):
    """A ``preexec_fn`` for ``subprocess.Popen``: own process group, death signal."""
    parent = os.getpid()

    def preexec():
        if new_group:
            os.setpgid(0, 0)
        set_death_signal(parent)

    return preexec


def popen(cmd, **kw) -> subprocess.Popen:
    """``subprocess.Popen`` in a new process group with the parent-death signal set."""
    return subprocess.Popen(cmd, preexec_fn=child_preexec(), **kw)


def stop(proc: subprocess.Popen, grace: float = 3.0) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    def signal_group(sig):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    if proc.poll() is None:
        signal_group(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    # whatever is left in the group (a grandchild), and the child if it ignored SIGTERM
    signal_group(signal.SIGKILL)
    if proc.poll() is None:
        proc.kill()
    proc.wait()


KERNEL_DIR_PREFIX = "twophase-kernel-"


def kernel_dirs(pid: int | None = None) -> list:
    """``(pid, path)`` of the kernel socket directories in the temporary folder, of executor
    ``pid`` or of every executor."""
    import glob
    import tempfile
    pattern = f"{KERNEL_DIR_PREFIX}{'*' if pid is None else int(pid)}-*"
    out = []
    for d in sorted(glob.glob(os.path.join(tempfile.gettempdir(), pattern))):
        owner = os.path.basename(d)[len(KERNEL_DIR_PREFIX):].split("-", 1)[0]
        if owner.isdigit():
            out.append((int(owner), d))
    return out


def remove_kernel_dirs(pid: int) -> list:
    """Remove the kernel socket directories made by executor process ``pid`` (after it ended:
    a kernel stopped with its executor cannot clean up). Returns the paths removed."""
    import shutil
    gone = []
    for _, d in kernel_dirs(pid):
        shutil.rmtree(d, ignore_errors=True)
        gone.append(d)
    return gone


try:  # the executor's kernel manager; jupyter_client is only needed in the executor
    from jupyter_client.manager import KernelManager as _KernelManager
    from jupyter_client.utils import run_sync as _run_sync
except ImportError:  # pragma: no cover - jupyter_client ships with the toolchain
    _KernelManager, _run_sync = object, None


class DyingKernelManager(_KernelManager):
    """A Jupyter kernel manager whose kernel gets SIGKILL when the executor dies, and which
    talks to it over Unix sockets in a private directory.

    jupyter_client starts the kernel in a new session (so Ctrl-C in a terminal does not reach
    it); its own "parent poller" only notices a dead parent if the kernel is re-parented to
    pid 1, which is not the case under a sub-reaper. The death signal closes that gap.

    Transport: over TCP, jupyter_client picks five free ports, closes them and hands their
    numbers to the kernel, which binds them a second or so later. With several kernels
    starting at once (parallel chapters, parallel tests), another process can take a port in
    that gap and the kernel dies with ``Address already in use``. Unix sockets named inside a
    directory made for this kernel alone cannot collide, so the race is gone rather than
    retried. The directory is removed when the kernel's resources are cleaned up; if the
    executor is stopped first, the runner removes it (:func:`remove_kernel_dirs`).

    Shutdown: the manager asks only once every cell has run and its outputs are in the
    notebook. ipykernel 6.29.5 then sometimes hangs on its way out: its control thread waits
    in an iostream flush while the main thread joins it (stacks taken with faulthandler). It
    happened in 4 of 12 runs of a one-cell notebook here, each time until jupyter_client's
    default wait (5 s: half of it, then SIGTERM) ran out, adding 3.4 s to a 0.6 s run. So the
    wait is :data:`SHUTDOWN_WAIT` (half of it for the kernel to leave on its own, then
    SIGTERM, then SIGKILL); the kernel's children die with it (death signal).
    """

    #: seconds jupyter_client waits for the kernel to leave after the shutdown request
    SHUTDOWN_WAIT = 1.0

    def __init__(self, *args, **kw):
        kw.setdefault("shutdown_wait_time", self.SHUTDOWN_WAIT)
        kw.setdefault("transport", "ipc")
        super().__init__(*args, **kw)
        self._ipc_dir = None
        if self.transport == "ipc":
            import tempfile
            self._ipc_dir = tempfile.mkdtemp(prefix=f"{KERNEL_DIR_PREFIX}{os.getpid()}-")
            self.ip = os.path.join(self._ipc_dir, "k")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["preexec_fn"] = child_preexec(new_group=False)
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self._ipc_dir is not None:
            import shutil
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None

    if _run_sync is not None:
        cleanup_resources = _run_sync(_async_cleanup_resources)
