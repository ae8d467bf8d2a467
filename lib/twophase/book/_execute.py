"""Child process of the runner: execute one notebook with papermill.

The runner starts ``python -m twophase.book._execute SPEC.json`` for each chapter, so that an
interrupt (Ctrl-C) always reaches the runner, which then stops this process; papermill's
client otherwise takes over SIGINT while a notebook runs. SPEC holds ``input``, ``output``,
``parameters``, ``cwd``, ``progress``, ``timeout`` and ``error_file``. Exit status 0: the
notebook ran to the end; 1: it raised (name and message written to ``error_file``).

The kernel is started by :class:`twophase.book.procs.DyingKernelManager`, so it is killed when
this process dies (and this process is killed when the runner dies): no orphan survives a
SIGKILL of the runner.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    import papermill

    from .procs import DyingKernelManager

    try:
        papermill.execute_notebook(
            spec["input"], spec["output"], parameters=spec["parameters"],
            kernel_name="python3", language="python", cwd=spec["cwd"],
            progress_bar=spec["progress"], log_output=False,
            execution_timeout=spec.get("timeout"),
            kernel_manager_class=DyingKernelManager,
        )
    except Exception as exc:  # noqa: BLE001 - report any failure to the runner
        err = {"ename": getattr(exc, "ename", type(exc).__name__),
               "evalue": getattr(exc, "evalue", str(exc))}
        Path(spec["error_file"]).write_text(json.dumps(err), encoding="utf-8")
        return 1
    _collapse_injected_parameters(spec["output"])
    return 0


def _collapse_injected_parameters(path) -> None:
    """Collapse papermill's injected-parameters cell on the page (``hide-input``), as the
    chapters' own parameters cell is: the values used are one click away, and the page's
    "How this page was made" box lists them all."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "hide-input" not in tags:
            cell.metadata["tags"] = list(tags) + ["hide-input"]
            changed = True
    if changed:
        nbformat.write(nb, str(path))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
