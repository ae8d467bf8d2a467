"""Sphinx extension for a plain ``jupyter-book build .`` (execution by myst-nb).

myst-nb 1.4 executes every chapter with the same environment and in the same folder
(``book/``), so a kernel cannot tell which chapter it runs and every chapter's claims and
figures would land in one ``_build/interactive`` (provenance "chapter interactive"). This
extension sets ``JPY_SESSION_NAME`` — the variable Jupyter servers use to tell a kernel its
notebook, which ipykernel exposes as ``__session__`` — to the source file of each document
just before myst-nb parses (and so executes) it; :func:`twophase.notebook.context` derives the
chapter from it and writes to ``_build/interactive/<chapter>/``.

Enable it in ``_config.yml``::

    sphinx:
      extra_extensions: [twophase.book.sphinx_ext]

It changes nothing when the runner builds the book (execution is off there, and the runner's
``TWOPHASE_CHAPTER`` takes precedence in the kernel anyway).
"""
from __future__ import annotations

import os

__all__ = ["setup"]


def _source_read(app, docname, source):
    path = app.env.doc2path(docname)
    os.environ["JPY_SESSION_NAME"] = str(path)


def setup(app):
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
