"""The book runner: ``python -m twophase.book build|run``.

Executes the chapters (MyST notebooks) with papermill under a cache key that covers the
library, stages the executed notebooks and builds the HTML with Jupyter Book 1.x. See
:mod:`twophase.book.runner` and ``python -m twophase.book --help``.
"""
from .cache import cache_key
from .profiles import Profiles
from .runner import BuildResult, ChapterResult, Runner
from .sources import BookError, read_parameters, read_toc

__all__ = ["Runner", "BuildResult", "ChapterResult", "Profiles", "BookError", "cache_key",
           "read_parameters", "read_toc", "main"]


def main(argv=None) -> int:
    from .cli import main as _main

    return _main(argv)
