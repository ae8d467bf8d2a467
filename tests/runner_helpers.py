"""Helpers shared by the runner's tests (tests/test_runner_*.py, tests/test_book_runner.py)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from twophase.book import Runner


def runner(root, **kw):
    lines = []
    r = Runner(root=root, progress=False, out=lines.append, **kw)
    r.lines = lines
    return r


def set_profile(root, chapter, profile="quick", **values):
    path = Path(root) / "book" / "profiles.yml"
    data = yaml.safe_load(path.read_text())
    data["chapters"][chapter][profile].update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def actions(result):
    return {r.chapter: r.action for r in result.chapters}


def leftovers(root):
    """Temporary files and folders of the runner anywhere under ``<root>/_build``."""
    b = Path(root) / "_build"
    if not b.exists():
        return []
    return [p for p in b.rglob("*")
            if ".run-" in p.name or ".tmp-" in p.name or ".old-" in p.name
            or ".input-" in p.name or p.name.endswith(".lock")
            or (p.parent.name == ".tmp" and p.is_file())]


def spawn(root, *args):
    """Start ``python -m twophase.book --root ROOT ARGS`` (SIGINT at its default action)."""
    return subprocess.Popen(
        [sys.executable, "-m", "twophase.book", "--root", str(root), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(cond, timeout=90.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def descendants(pid):
    """Pids of every live descendant of ``pid`` (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def tree_state(folder):
    """``{relative path: (size, mtime_ns)}`` of every file under ``folder``."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def read_json(path):
    return json.loads(Path(path).read_text())
