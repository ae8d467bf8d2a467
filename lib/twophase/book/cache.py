"""The runner's execution cache.

A chapter is re-executed only when its *cache key* changes. The key is the SHA-256 of, in
order (each item length-prefixed and labelled, so no two inputs can collide by concatenation):

1. a format tag (bumped when the runner changes how it executes),
2. the chapter name and the raw bytes of its source ``book/<chapter>.md``,
3. the profile name and the resolved parameters as JSON with sorted keys,
4. every file under ``lib/`` (relative path and bytes; ``__pycache__``, ``*.pyc``,
   ``*.egg-info`` and hidden files excluded): the library's sources, this runner included,
   and ``lib/pyproject.toml``,
5. the bytes of ``requirements.txt`` (the pinned toolchain).

Jupyter Book's own cache looks only at the notebook's code cells, so a change to ``lib/``
would silently reuse stale outputs; this key does not have that blind spot. The key is stored,
with the status of the run, in ``_build/chapters/<chapter>/cache.json``; a chapter is reused
only if the key matches, the last run succeeded and its executed notebook is still there.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

__all__ = ["KEY_FORMAT", "library_files", "cache_key", "read_cache"]

KEY_FORMAT = "twophase-book-cache-v1"


def library_files(lib_dir: Path) -> list[Path]:
    """Files under ``lib_dir`` that enter the key, sorted by relative path."""
    lib_dir = Path(lib_dir)
    if not lib_dir.is_dir():
        return []
    out = []
    for p in lib_dir.rglob("*"):
        rel = p.relative_to(lib_dir)
        if not p.is_file() or any(part.startswith(".") or part == "__pycache__"
                                  or part.endswith(".egg-info") for part in rel.parts):
            continue
        if p.suffix in (".pyc", ".pyo"):
            continue
        out.append(p)
    return sorted(out, key=lambda p: p.relative_to(lib_dir).as_posix())


def cache_key(chapter: str, source: Path, profile: str, params: dict, lib_dir: Path,
              requirements: Path) -> str:
    """SHA-256 hex digest described in the module docstring."""
    h = hashlib.sha256()

    def feed(label: str, data: bytes) -> None:
        lab = label.encode()
        h.update(len(lab).to_bytes(8, "little") + lab + len(data).to_bytes(8, "little") + data)

    feed("format", KEY_FORMAT.encode())
    feed("chapter", chapter.encode())
    feed("source", Path(source).read_bytes())
    feed("profile", profile.encode())
    feed("parameters", json.dumps(params, sort_keys=True).encode())
    lib_dir = Path(lib_dir)
    for f in library_files(lib_dir):
        feed("lib:" + f.relative_to(lib_dir).as_posix(), f.read_bytes())
    req = Path(requirements)
    feed("requirements", req.read_bytes() if req.is_file() else b"")
    return h.hexdigest()


def read_cache(chapter_dir: Path) -> dict | None:
    """The stored ``cache.json`` of a chapter output folder, or ``None``."""
    path = Path(chapter_dir) / "cache.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
