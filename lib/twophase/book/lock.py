"""One runner at a time per output folder: a lock file naming its holder.

The lock is a file created with ``O_CREAT | O_EXCL`` (atomic on every local file system)
holding ``{"pid", "host", "started_utc", "command"}``. A second runner on the same folder is
refused with a message naming the holder. A lock left by a runner that was killed outright
(same host, its pid no longer running) is stale and is taken over.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from .sources import BookError

__all__ = ["BuildLock", "LockBusy", "pid_alive"]


class LockBusy(BookError):
    """The folder is locked by another running runner."""


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists on this host (zombies count as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _describe(info: dict) -> str:
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} since"
            f" {info.get('started_utc', '?')} ({info.get('command', '?')})")


class BuildLock:
    """Context manager holding ``path`` (e.g. ``_build/.lock``) for this process.

    Raises :class:`LockBusy` (a :class:`BookError`) if a live process holds it.
    """

    def __init__(self, path: Path, command: str = ""):
        self.path = Path(path)
        self.command = command or " ".join(["python -m twophase.book"] + sys.argv[1:])
        self.held = False
        self.took_over: dict | None = None

    def read(self) -> dict | None:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return info if isinstance(info, dict) else {}

    def _stale(self, info: dict) -> bool:
        pid = info.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            # unreadable: being written this instant (young), or left half-written (old)
            try:
                import time

                return time.time() - self.path.stat().st_mtime > 10.0
            except OSError:
                return True
        if info.get("host") != socket.gethostname():
            return False  # cannot tell from here; the message tells the user what to do
        return not pid_alive(pid)

    def acquire(self) -> "BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "command": self.command}
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = self.read()
                if held is None:
                    continue  # released meanwhile: try again
                if held.get("pid") == os.getpid() and held.get("host") == socket.gethostname():
                    raise LockBusy(f"{self.path.parent} is already in use by this process")
                if not self._stale(held):
                    raise LockBusy(
                        f"{self.path.parent} is in use by another twophase.book runner:"
                        f" {_describe(held)}. Wait for it to finish, or use another"
                        f" --build-dir; if that process is gone, delete {self.path}.")
                # stale: remove it (only if it is still the same stale file) and retry
                self.took_over = held
                try:
                    self.path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(info, fh)
            self.held = True
            return self
        raise LockBusy(f"could not take the lock {self.path} (it keeps changing hands)")

    def release(self) -> None:
        if not self.held:
            return
        held = self.read()
        if held and held.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
