"""File-system moves of the book runner: atomic JSON writes and folder exchanges.

Owns the few operations that put finished outputs in place (``_swap_dir``, ``_merge_dir``,
``_atomic_json``) so that both :mod:`twophase.book.runner` and :mod:`twophase.book.staging`
use them without importing each other. Imports only the standard library.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import sys
from pathlib import Path

def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _atomic_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux ``renameat2``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), _RENAME_EXCHANGE)
    return rc == 0


def _swap_dir(new: Path, final: Path) -> None:
    """Replace directory ``final`` by ``new``, atomically where the system allows.

    On Linux both folders are exchanged in one ``renameat2(RENAME_EXCHANGE)``, so a reader
    sees either the old or the new tree, never none and never a mix; elsewhere two renames.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    _rmtree(old)
    if final.exists() and _exchange(new, final):
        _rmtree(new)   # now holds the previous tree
        return
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    _rmtree(old)


def _merge_dir(new: Path, final: Path) -> None:
    """Move every file of ``new`` into ``final`` one ``os.replace`` at a time."""
    for src in sorted(new.rglob("*")):
        if src.is_file():
            dst = final / src.relative_to(new)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
    _rmtree(new)
