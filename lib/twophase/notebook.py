"""Helpers used inside the book's chapter notebooks.

Chapters stay thin: they call the library, plot, and state claims. This module
gives them two verbs:

* :func:`claim` records a verdict the chapter states in prose and fails the
  build (``AssertionError``) when it does not hold.
* :func:`show_figure` writes a figure atomically as PNG and PDF with a
  provenance record beside it, shows it, and closes it.

The runner (``python -m twophase.book``) tells a notebook who it is through
environment variables: ``TWOPHASE_CHAPTER``, ``TWOPHASE_PROFILE``,
``TWOPHASE_PARAMS`` (JSON) and ``TWOPHASE_OUT`` (the chapter's output
folder). Run by hand, a notebook falls back to ``_build/interactive``.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import re
import subprocess
from pathlib import Path

__all__ = ["claim", "paper_claim", "show_figure", "context", "claims_so_far", "paper_claims_so_far",
           "VERDICTS"]

_CLAIMS: list[dict] = []
_PAPER_CLAIMS: list[dict] = []

#: The verdicts a chapter may give a claim of one of the papers (see :func:`paper_claim`).
VERDICTS = ("reproduced", "reproduced under conditions", "not reproduced", "not testable here")


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "_toc.yml").exists():
            return parent
    return Path.cwd()


@functools.lru_cache(maxsize=8)
def _git_commit(root: str) -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
            text=True, timeout=10,
        ).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _session_notebook():
    """The notebook this kernel runs, from ``JPY_SESSION_NAME`` (``__session__``), or None.

    Jupyter servers set it to the notebook's path when they start its kernel; the book's
    Sphinx extension :mod:`twophase.book.sphinx_ext` sets it to the chapter's source while
    ``jupyter-book build .`` executes that chapter (myst-nb 1.4 itself gives the kernel no
    per-notebook hint: it runs every chapter in ``book/`` with the same environment).
    """
    name = os.environ.get("JPY_SESSION_NAME", "").strip()
    if not name:
        try:
            from IPython import get_ipython

            ip = get_ipython()
            name = str((ip.user_ns.get("__session__") if ip is not None else "") or "")
        except ImportError:
            name = ""
    return Path(name) if name else None


def _book_root_of(path: Path):
    for parent in path.resolve().parents:
        if (parent / "_toc.yml").is_file():
            return parent
    return None


def context() -> dict:
    """Who is running: chapter, profile, parameters, output folder, versions.

    Under the runner every item comes from its ``TWOPHASE_*`` variables. Otherwise the chapter
    is the stem of the notebook the kernel runs (see :func:`_session_notebook`), and its
    outputs go to ``<book root>/_build/interactive/<chapter>/``, so chapters executed one after
    another by a plain ``jupyter-book build .`` keep their claims and figures apart; with no
    notebook known at all, ``chapter`` is ``"interactive"`` and the folder
    ``_build/interactive``.
    """
    from . import __version__

    root = _repo_root()
    chapter = os.environ.get("TWOPHASE_CHAPTER", "").strip()
    out = os.environ.get("TWOPHASE_OUT", "").strip()
    if not chapter:
        nb = _session_notebook()
        if nb is not None and nb.stem:
            chapter = nb.stem
            book_root = _book_root_of(nb) if nb.is_absolute() else None
            if not out:
                out = str((book_root or root) / "_build" / "interactive" / chapter)
    chapter = chapter or "interactive"
    out = out or str(root / "_build" / "interactive")
    commit = _git_commit(str(root))
    return {
        "chapter": chapter,
        "profile": os.environ.get("TWOPHASE_PROFILE", "interactive"),
        "parameters": json.loads(os.environ.get("TWOPHASE_PARAMS", "{}")),
        "out": out,
        "twophase_version": __version__,
        "git_commit": commit,
    }


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def claims_so_far() -> list[dict]:
    """The claims recorded in this kernel so far (copies)."""
    return [dict(c) for c in _CLAIMS]


def claim(key: str, holds, detail: str = "") -> None:
    """Record a claim the chapter makes and fail loudly if it does not hold.

    Parameters
    ----------
    key : str
        Short stable identifier, e.g. ``"fig1-best-nu-above-one"``.
    holds : bool or numpy.bool_
        The computed truth value of the claim. Only a real boolean is accepted:
        a number, string, array or ``None`` is refused with ``TypeError`` (a NaN
        or a non-empty string would otherwise pass as "truthy").
    detail : str
        The numbers behind the verdict, shown in the book and in the error.

    Raises
    ------
    TypeError
        If ``holds`` is not a Python or numpy boolean, or ``key`` is not a non-empty string.
    AssertionError
        If ``holds`` is false. The runner turns this into a failed chapter.
    """
    import numpy as np

    from ._validate import ArgumentTypeError

    if not isinstance(key, str) or not key.strip():
        raise ArgumentTypeError(f"claim key must be a non-empty str, got {key!r}")
    if not isinstance(holds, (bool, np.bool_)):
        raise ArgumentTypeError(
            f"claim {key!r}: holds must be a bool or numpy.bool_ (the computed truth value), "
            f"got {type(holds).__name__} {holds!r}")
    ok = bool(holds)
    ctx = context()
    record = {"chapter": ctx["chapter"], "key": key, "holds": ok, "detail": str(detail)}
    _CLAIMS.append(record)
    _atomic_write_text(Path(ctx["out"]) / "claims.json", json.dumps(_CLAIMS, indent=1))
    mark = "PASS" if ok else "FAIL"
    print(f"[claim {mark}] {key}: {detail}")
    if not ok:
        raise AssertionError(f"claim {key!r} does not hold: {detail}")


def paper_claims_so_far() -> list[dict]:
    """The paper-claim verdicts recorded in this kernel so far (copies)."""
    return [dict(c) for c in _PAPER_CLAIMS]


def paper_claim(id: str, verdict: str, conditions: str, evidence: str, checks=()) -> dict:
    """Record this chapter's computed verdict on one claim of one of the papers.

    Unlike :func:`claim`, this never fails the chapter because of the verdict: a
    claim that does not reproduce is a finding to report. The verdict must be
    *computed* from the chapter's data (e.g. ``"reproduced" if ok else "not
    reproduced"``), never typed in as the expected outcome.

    Parameters
    ----------
    id : str
        The claim's id in ``book/paper_claims.yml``, e.g. ``"I-fig1-eta-star-decreases"``.
    verdict : str
        One of :data:`VERDICTS`.
    conditions : str
        Where it holds and where it does not, with the numbers (MyST markdown).
    evidence : str
        A MyST label defined in this chapter (a figure ``:name:`` or a section
        ``(label)=``) that shows the evidence; the claims page links it with ``{ref}``.
    checks : sequence of str
        Keys of the :func:`claim` checks (this chapter) that decide it.

    Returns
    -------
    dict
        The record written to ``<out>/paper_claims.json``:
        ``{"id", "verdict", "conditions", "chapter", "evidence", "checks"}``.
    """
    from ._validate import ArgumentTypeError

    for name, value in (("id", id), ("conditions", conditions), ("evidence", evidence)):
        if not isinstance(value, str) or not value.strip():
            raise ArgumentTypeError(f"paper_claim {name} must be a non-empty str, got {value!r}")
    if not isinstance(verdict, str):
        raise ArgumentTypeError(f"paper_claim {id!r}: verdict must be one of {VERDICTS}, got {verdict!r}")
    if verdict not in VERDICTS:
        raise ValueError(f"paper_claim {id!r}: verdict must be one of {VERDICTS}, got {verdict!r}")
    if not isinstance(checks, (list, tuple)) or not all(isinstance(c, str) for c in checks):
        raise ArgumentTypeError(f"paper_claim {id!r}: checks must be a sequence of claim keys, got {checks!r}")
    ctx = context()
    record = {"id": id, "verdict": verdict, "conditions": conditions, "chapter": ctx["chapter"],
              "evidence": evidence, "checks": list(checks)}
    _PAPER_CLAIMS[:] = [c for c in _PAPER_CLAIMS if c["id"] != id] + [record]
    _atomic_write_text(Path(ctx["out"]) / "paper_claims.json", json.dumps(_PAPER_CLAIMS, indent=1))
    print(f"[paper claim] {id}: {verdict}: {conditions}")
    return dict(record)


class _QuietPath(type(Path())):
    """A ``Path`` that IPython does not echo when it ends a cell (``show_figure(...)`` as the
    last line would otherwise print the runner's temporary output folder into the book)."""

    def _ipython_display_(self):
        pass


#: Width, in inches of figure, that fills the book's text column. sphinx-book-theme shows
#: the column at about 750 CSS pixels on a desktop window, so one inch of figure is about 104
#: pixels on screen and a 10 pt label is about 14 pixels high: readable.
COLUMN_WIDTH_IN = 7.2
#: The PNG's resolution: twice the on-screen density, so it stays sharp on high-dpi screens.
PNG_DPI = 200
#: A wide, flat figure shrunk to the column keeps at least this height (inches), so that its
#: panels keep room for their plots between the labels.
MIN_HEIGHT_IN = 3.0
_PREVIEW_DPI = 100


def run_info_label(chapter: str) -> str:
    """The MyST label of the "How this page was made" box the runner puts on ``chapter``'s page
    (its full parameters); each figure's provenance line links to it."""
    return f"run-info-{chapter}"


def fit_to_column(fig) -> float:
    """Shrink ``fig`` to the book's column width so its text is readable where it is shown.

    A figure wider than :data:`COLUMN_WIDTH_IN` would be scaled down by the browser, and its
    labels with it (a 13-inch figure shows 10 pt text about 8 px high). Setting its size to the
    column width keeps every font, line and marker at its size in points. A figure without a
    layout engine gets matplotlib's constrained layout, which re-places labels for the new
    size. The height shrinks in proportion, but not below ``min(height, MIN_HEIGHT_IN)``.

    Returns the width (inches) of the figure after the change; narrower figures are left alone.
    """
    width, height = (float(v) for v in fig.get_size_inches())
    if width <= COLUMN_WIDTH_IN:
        return width
    new_height = max(height * COLUMN_WIDTH_IN / width, min(height, MIN_HEIGHT_IN))
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    fig.set_size_inches(COLUMN_WIDTH_IN, new_height)
    return COLUMN_WIDTH_IN


def _site_path(ctx: dict, figdir: Path, filename: str) -> str | None:
    """Where the book's Sphinx source tree holds a figure file (for ``{download}``).

    Under the runner (``TWOPHASE_OUT`` set) the staging step copies a chapter's figures to
    ``figures/<chapter>/`` of the staged site; in a plain ``jupyter-book build .`` the source
    tree is the repository, which holds the output folder itself. None if neither applies.
    """
    if os.environ.get("TWOPHASE_OUT"):
        return f"/figures/{ctx['chapter']}/{filename}"
    try:
        rel = figdir.resolve().relative_to(_repo_root())
    except ValueError:
        return None
    return "/" + (rel / filename).as_posix()


def _figure_markdown(name: str, caption: str, width_pct: int, ctx: dict, figdir: Path,
                     glue_key: str) -> str:
    """The MyST the book renders for a figure: a numbered figure labelled ``name``, its
    caption, download links and a collapsed provenance line."""
    links = []
    for ext, what in (("png", "PNG"), ("pdf", "PDF"), ("json", "provenance record")):
        target = _site_path(ctx, figdir, f"{name}.{ext}")
        if target:
            links.append(f"{{download}}`{what} <{target}>`")
    in_runner = bool(os.environ.get("TWOPHASE_OUT"))
    params = (f"{{ref}}`parameters <{run_info_label(ctx['chapter'])}>`" if in_runner
              else "parameters: notebook defaults")
    summary = (f"Provenance: profile `{ctx['profile']}`, commit `{ctx['git_commit']}`, "
               f"{params}")
    where = ("The chapter's full parameters are in the box “How this page was made” at the top "
             "of the page" if in_runner else
             "Run outside the book runner, with the notebook's own parameter values")
    body = (f"Chapter `{ctx['chapter']}`, profile `{ctx['profile']}`, twophase "
            f"{ctx['twophase_version']}, commit `{ctx['git_commit']}`. {where}; the provenance "
            "record (JSON) holds them with the figure's caption and creation time.")
    lines = [f"````{{glue:figure}} {glue_key}", f":name: {name}", f":width: {width_pct}%",
             f":alt: {_plain(caption)}", "", caption.strip(), ""]
    if links:
        lines += ["Download: " + " · ".join(links), ""]
    # a colon fence: a backtick fence's info string may not contain backticks (CommonMark)
    lines += [f":::{{dropdown}} {summary}", ":class-container: twophase-provenance", body, ":::",
              "````"]
    return "\n".join(lines)


def _plain(text: str) -> str:
    """One line of text for an ``alt`` attribute (markup characters dropped)."""
    return " ".join(re.sub(r"[`*_{}$\\]", "", text).split())[:250]


def _figure_html(png_preview: bytes, name: str, caption: str) -> str:
    """What Jupyter (e.g. on Binder) shows for the figure: the image and its caption."""
    import base64
    import html

    data = base64.b64encode(png_preview).decode("ascii")
    return (f'<figure id="{html.escape(name)}"><img src="data:image/png;base64,{data}" '
            f'alt="{html.escape(_plain(caption))}" style="max-width:100%">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _save_images(fig, png: Path, pdf: Path, preview: Path | None) -> None:
    """Write ``fig`` as the PNG (:data:`PNG_DPI`), the PDF and, unless ``preview`` is None, the
    Jupyter preview PNG (``_PREVIEW_DPI``), all cropped to one tight bounding box.

    ``savefig(..., bbox_inches="tight")`` lays the figure out and measures it again for every
    file (a draw without rendering before each real draw, and mathtext parsed anew at each
    dpi). Here the layout engine runs and the box is measured once, at the PNG's dpi exactly as
    the PNG's own ``savefig`` would do it, so the PNG is the same image, pixel for pixel; the
    PDF reuses that layout and crop (measured with its own font metrics, its crop could be up
    to about a point wider or taller: 0.25 pt at most on the book's figures). The preview, which only Jupyter shows (the book shows the PNG), is the PNG
    averaged over blocks of ``PNG_DPI // _PREVIEW_DPI`` pixels rather than a third drawing.
    The figure's dpi and layout engine are restored afterwards.
    """
    import matplotlib as mpl

    pad = mpl.rcParams["savefig.pad_inches"]
    if not isinstance(pad, (int, float)):  # e.g. "layout": leave it to savefig
        fig.savefig(png, dpi=PNG_DPI, bbox_inches="tight")
        fig.savefig(pdf, bbox_inches="tight")
        if preview is not None:
            fig.savefig(preview, dpi=_PREVIEW_DPI, bbox_inches="tight")
        return
    engine = fig.get_layout_engine()
    dpi = fig.get_dpi()
    try:
        fig.set_dpi(PNG_DPI)
        fig.draw_without_rendering()  # runs the layout engine (if any) at the PNG's dpi
        box = fig.get_tightbbox().padded(pad)
    finally:
        fig.set_dpi(dpi)
    if engine is not None:
        fig.set_layout_engine("none")  # keep the layout just computed for all three files
    try:
        fig.savefig(png, dpi=PNG_DPI, bbox_inches=box)
        fig.savefig(pdf, bbox_inches=box)
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    if preview is not None:
        factor, rest = divmod(PNG_DPI, _PREVIEW_DPI)
        if rest:
            fig.savefig(preview, dpi=_PREVIEW_DPI, bbox_inches=box)
        else:  # the PNG averaged over factor x factor pixel blocks: no third draw
            from PIL import Image

            with Image.open(png) as im:
                im.reduce(factor).save(preview, format="png", dpi=(_PREVIEW_DPI, _PREVIEW_DPI))


def show_figure(fig, name: str, caption: str = "", display: bool = True) -> Path:
    """Save ``fig`` as PNG and PDF with provenance, show it as a numbered figure, close it.

    The figure is first fitted to the book's column (:func:`fit_to_column`). Files go to
    ``<out>/figures/<name>.{png,pdf,json}``; each is written to a temporary name first and
    moved into place, so an interrupted run never leaves a half-written figure.

    Shown in the book, the figure is a numbered ``<figure>`` labelled ``name`` (prose refers
    to it as ``{numref}`name```) with ``caption``, links to download its PNG, PDF and
    provenance record, and a collapsed provenance line (profile, commit, a link to the page's
    parameters). The output is one display bundle: ``text/markdown`` holding the MyST the book
    renders (``nb_render_markdown_format: myst``, with ``text/markdown`` preferred over
    ``text/html`` in ``_config.yml``) and ``text/html`` that Jupyter shows (image and caption);
    the image itself is glued (myst-nb ``glue``) under the key ``figure-<name>``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        A plain file stem, also the figure's label: unique in the book, e.g. ``"ch2_figure1"``.
    caption : str
        The caption (MyST markdown; its first paragraph is the caption proper). Required when
        ``display`` is true: a figure in the book always has one.
    display : bool
        Show the figure (default). False only writes the files.

    Returns
    -------
    pathlib.Path
        The PNG's path (not echoed when it ends a notebook cell).
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from ._validate import ArgumentTypeError, flag

    if not isinstance(fig, Figure):
        raise ArgumentTypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__} {fig!r:.60}")
    flag("display", display)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", name):
        raise ValueError(f"name must be a plain file stem like 'fig1_loss' (letters, digits, "
                         f"'_' and '-'), got {name!r}")
    if not isinstance(caption, str):
        raise ArgumentTypeError(f"caption must be a str, got {type(caption).__name__}")
    if display and not caption.strip():
        raise ValueError(f"figure {name!r}: caption must be a non-empty str (every figure of "
                         "the book is numbered and captioned)")
    ctx = context()
    figdir = Path(ctx["out"]) / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    png = _QuietPath(figdir / f"{name}.png")
    fit_to_column(fig)
    prov = {
        "figure": name,
        "caption": caption,
        "chapter": ctx["chapter"],
        "profile": ctx["profile"],
        "parameters": ctx["parameters"],
        "twophase_version": ctx["twophase_version"],
        "git_commit": ctx["git_commit"],
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    # Write all three files under temporary names first, then move them into place: an
    # error or interrupt part-way leaves neither a half-written file nor a PNG without its PDF.
    tmps = {ext: figdir / f".{name}.tmp-{os.getpid()}.{ext}"
            for ext in ("png", "pdf", "json", "preview.png")}
    try:
        _save_images(fig, tmps["png"], tmps["pdf"], tmps["preview.png"] if display else None)
        tmps["json"].write_text(json.dumps(prov, indent=1))
        if display:
            preview = tmps["preview.png"].read_bytes()
        for ext in ("png", "pdf", "json"):
            os.replace(tmps[ext], figdir / f"{name}.{ext}")
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    if display:
        from IPython.display import Image, display as _display
        from myst_nb import glue

        key = f"figure-{name}"
        glue(key, Image(data=png.read_bytes()), display=False)
        # shown at its own size (PNG_DPI pixels per inch of figure), never wider than the column
        width_in = int.from_bytes(png.read_bytes()[16:20], "big") / PNG_DPI
        width_pct = max(1, min(100, round(100 * width_in / COLUMN_WIDTH_IN)))
        _display({"text/markdown": _figure_markdown(name, caption, width_pct, ctx, figdir, key),
                  "text/html": _figure_html(preview, name, caption),
                  "text/plain": f"<Figure {name}: {_plain(caption)[:60]}>"}, raw=True)
    plt.close(fig)
    return png
