"""``book/profiles.yml``: the single source of truth for chapter parameters.

Format::

    chapters:
      01_sgd:
        quick: {D: 400, seeds: 50}      # CI-sized, the values of the chapter's parameters cell
        paper: {D: 3200, seeds: 400}    # the settings the paper states

    timeouts: {quick: 600, paper: 1800}  # optional: wall-time limit of one chapter, seconds
    expected_seconds: {paper: {01_sgd: 80}}  # optional: for the order of parallel chapters only

``expected_seconds`` only orders the work of ``build -j N`` (longest first); a chapter's last
recorded run of the same profile in the build folder takes precedence over it.

Every chapter of ``_toc.yml`` has a block, every block has the same profiles (``quick`` and
``paper``), and each profile lists exactly the names of the chapter's ``parameters`` cell with
values of the same type.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .sources import BookError, check_value

__all__ = ["Profiles", "DEFAULT_PROFILES"]

DEFAULT_PROFILES = ("quick", "paper")
#: Per-chapter time limit (seconds) of a profile that ``timeouts:`` does not list.
DEFAULT_TIMEOUT = 1800.0
_SCALARS = (bool, int, float, str, type(None))


def _is_literal(value) -> bool:
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list):
        return all(_is_literal(v) for v in value)
    return False


class Profiles:
    """Parsed and validated ``profiles.yml``.

    Parameters
    ----------
    path : Path
        The YAML file.
    chapters : sequence of str
        The chapter names of the table of contents; the file may not name any other.
    """

    def __init__(self, path: Path, chapters):
        self.path = Path(path)
        self.chapters = list(chapters)
        if not self.path.is_file():
            raise BookError(f"missing profiles file {self.path}")
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise BookError(f"{self.path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("chapters"), dict):
            raise BookError(f"{self.path}: expected a top-level mapping `chapters:`")
        self.data: dict[str, dict[str, dict]] = {}
        for chapter, block in data["chapters"].items():
            chapter = str(chapter)
            if chapter not in self.chapters:
                raise BookError(f"{self.path}: unknown chapter {chapter!r}; chapters in _toc.yml:"
                                f" {', '.join(self.chapters)}")
            if not isinstance(block, dict) or not block:
                raise BookError(f"{self.path}: chapter {chapter!r} needs a mapping of profiles"
                                f" ({', '.join(DEFAULT_PROFILES)})")
            self.data[chapter] = {}
            for prof, params in block.items():
                params = {} if params is None else params
                if not isinstance(params, dict):
                    raise BookError(f"{self.path}: {chapter}.{prof} must be a mapping name: value")
                for name, value in params.items():
                    if not _is_literal(value):
                        raise BookError(f"{self.path}: {chapter}.{prof}.{name} must be an int,"
                                        f" float, bool, str or list; got {value!r}")
                self.data[chapter][str(prof)] = {str(k): v for k, v in params.items()}
        missing = [c for c in self.chapters if c not in self.data]
        if missing:
            raise BookError(f"{self.path}: no block for chapter(s) {', '.join(missing)}")
        names = None
        for chapter, block in self.data.items():
            these = tuple(block)
            if names is None:
                names = these
            elif set(these) != set(names):
                raise BookError(f"{self.path}: chapter {chapter!r} has profiles {list(these)};"
                                f" every chapter must have {list(names)}")
        names = names or DEFAULT_PROFILES
        timeouts = data.get("timeouts") or {}
        if not isinstance(timeouts, dict):
            raise BookError(f"{self.path}: `timeouts` must map profile names to seconds")
        self.timeouts: dict[str, float] = {}
        for prof, secs in timeouts.items():
            if (isinstance(secs, bool) or not isinstance(secs, (int, float))
                    or not secs >= 0 or secs == float("inf")):
                raise BookError(f"{self.path}: timeouts.{prof} must be a number of seconds"
                                f" >= 0 (0: no limit), got {secs!r}")
            self.timeouts[str(prof)] = float(secs)
        hint = data.get("expected_seconds") or {}
        if not isinstance(hint, dict) or not all(isinstance(v, dict) for v in hint.values()):
            raise BookError(f"{self.path}: `expected_seconds` must map profile names to"
                            " {chapter: seconds}")
        self.expected: dict[str, dict[str, float]] = {}
        for prof, per in hint.items():
            for chapter, secs in per.items():
                if str(chapter) not in self.chapters:
                    raise BookError(f"{self.path}: expected_seconds.{prof}: unknown chapter"
                                    f" {chapter!r}; chapters in _toc.yml: {', '.join(self.chapters)}")
                if (isinstance(secs, bool) or not isinstance(secs, (int, float))
                        or not 0 <= secs < float("inf")):
                    raise BookError(f"{self.path}: expected_seconds.{prof}.{chapter} must be a"
                                    f" number of seconds >= 0, got {secs!r}")
                self.expected.setdefault(str(prof), {})[str(chapter)] = float(secs)
        self.names: tuple[str, ...] = tuple(
            [n for n in DEFAULT_PROFILES if n in names]
            + sorted(n for n in names if n not in DEFAULT_PROFILES))

    # -- lookups -----------------------------------------------------------------------------
    def check_profile(self, profile: str) -> str:
        if profile not in self.names:
            raise BookError(f"unknown profile {profile!r}; valid profiles: {', '.join(self.names)}")
        return profile

    def check_chapter(self, chapter: str) -> str:
        if chapter not in self.chapters:
            raise BookError(f"unknown chapter {chapter!r}; valid chapters: {', '.join(self.chapters)}")
        return chapter

    def expected_seconds(self, chapter: str, profile: str):
        """The ``expected_seconds`` hint of ``chapter`` under ``profile``, or ``None``."""
        return self.expected.get(profile, {}).get(chapter)

    def timeout(self, profile: str) -> float:
        """Wall-time limit (seconds) of one chapter under ``profile``; 0 means none."""
        return self.timeouts.get(profile, DEFAULT_TIMEOUT)

    def raw(self, chapter: str, profile: str) -> dict:
        """The profile block as written (no checks against the notebook)."""
        self.check_chapter(chapter)
        self.check_profile(profile)
        return dict(self.data[chapter][profile])

    def resolve(self, chapter: str, profile: str, cell: dict) -> dict:
        """Parameters to inject, checked against the chapter's ``parameters`` cell ``cell``.

        The names must equal the cell's names and each value must have the type of the cell's
        literal (ints are accepted, and converted, for float parameters).
        """
        params = self.raw(chapter, profile)
        missing = [n for n in cell if n not in params]
        extra = [n for n in params if n not in cell]
        if missing or extra:
            msg = [f"{self.path.name}: {chapter}.{profile} does not match the chapter's"
                   " parameters cell"]
            if missing:
                msg.append(f"missing {missing}")
            if extra:
                msg.append(f"unknown {extra}")
            msg.append(f"(parameters cell names: {list(cell) or 'none'})")
            raise BookError("; ".join(msg))
        where = f"{self.path.name}: {chapter}.{profile}"
        return {n: check_value(n, params[n], cell[n], where) for n in cell}
