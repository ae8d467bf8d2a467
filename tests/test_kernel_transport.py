"""The notebook kernel is reached over Unix sockets in a directory of its own (CI failure of
stop 17: a kernel died with ``Address already in use`` when another process took one of the
TCP ports jupyter_client had picked for it, between picking and binding)."""
import json
import os

from twophase.book.procs import DyingKernelManager, remove_kernel_dirs


def test_kernel_uses_private_unix_sockets_and_removes_them():
    kms = [DyingKernelManager(kernel_name="python3") for _ in range(2)]
    dirs = [km._ipc_dir for km in kms]
    assert all(km.transport == "ipc" for km in kms), [km.transport for km in kms]
    assert dirs[0] != dirs[1], f"two kernels share one socket directory: {dirs}"
    for km, d in zip(kms, dirs):
        assert os.path.isdir(d) and km.ip == os.path.join(d, "k"), (km.ip, d)
    km = kms[1]
    kms[0].cleanup_resources()          # never started: its directory still goes
    assert not os.path.exists(dirs[0]), f"{dirs[0]} left behind"
    km.start_kernel()
    try:
        info = json.loads(open(km.connection_file).read())
        assert info["transport"] == "ipc" and info["ip"] == km.ip, info
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        sockets = sorted(os.listdir(dirs[1]))    # bound by the kernel once it is ready
        assert len(sockets) == 5 and all(s.startswith("k-") for s in sockets), sockets
        reply = kc.execute_interactive("x = 6 * 7", timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    assert not os.path.exists(dirs[1]), f"{dirs[1]} left behind after shutdown"


def test_socket_directory_of_a_stopped_executor_is_removed_by_pid():
    """A kernel stopped together with its executor cannot clean up; the runner then removes
    the directories named after the executor's pid, and only those."""
    km = DyingKernelManager(kernel_name="python3")
    d = km._ipc_dir
    assert os.path.basename(d).startswith(f"twophase-kernel-{os.getpid()}-"), d
    other = d.replace(f"-{os.getpid()}-", f"-{os.getpid()}0-")
    os.mkdir(other)
    try:
        assert remove_kernel_dirs(os.getpid()) == [d]
        assert not os.path.exists(d) and os.path.isdir(other), (d, other)
    finally:
        os.rmdir(other)


def test_graceful_shutdown_waits_one_second_not_five():
    """A finished notebook's kernel gets SHUTDOWN_WAIT (1 s) to leave before SIGTERM, not
    jupyter_client's 5 s default (ipykernel 6.29.5 sometimes hangs on exit; see the class), and
    a graceful shutdown of a started kernel still ends with the process gone."""
    km = DyingKernelManager(kernel_name="python3")
    assert km.shutdown_wait_time == DyingKernelManager.SHUTDOWN_WAIT == 1.0, km.shutdown_wait_time
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.stop_channels()
    finally:
        km.shutdown_kernel()
    assert not km.is_alive(), "the kernel survived a graceful shutdown"
