"""Sphinx extension of the twophase book: MathJax served by the site itself, author-year labels.

Loaded through ``sphinx.local_extensions`` in ``_config.yml`` (the path ``book/_ext`` holds in
the repository and in the runner's staged copy of it, which copies ``book/``'s assets).

* **MathJax offline.** Sphinx loads MathJax from a CDN by default, so a reader without network,
  or one opening ``_build/html`` from disk, sees raw ``\\(``...``\\)``. ``_config.yml`` sets
  ``mathjax_path: mathjax/tex-chtml.js`` (relative to ``_static``) and this extension copies
  MathJax 3.2.2 from the pinned pip package ``django-static-mathjax`` (the MathJax
  distribution, Apache-2.0, no dependencies; it installs as the import package ``mathjax``)
  into ``_static/mathjax/`` of the HTML output: the combined TeX-to-CommonHTML component, the
  TeX extensions it loads on demand, its web fonts, the menu/accessibility parts and the
  licence. About 3 MB; nothing is fetched at read time.
* **Style.** ``static/twophase.css``: printed output wraps at the column instead of scrolling
  sideways; a figure's download links and provenance line are in small print.
* **Bibliography labels.** sphinxcontrib-bibtex's author-year citations read
  ``[Agarwala, 2026]`` while the list's default labels read ``[Aga26]``. The formatting style
  ``twophase_author_year`` (``bibtex_default_style``) is pybtex's ``unsrt`` with labels made by
  the same author-year template as the citations, so both match.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import SimpleNamespace

#: What the site needs of the MathJax distribution (paths under its ``es5/``), and its licence.
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui",
                 "a11y", "adaptors")


def mathjax_source() -> Path:
    """The MathJax distribution installed by the ``django-static-mathjax`` package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax is missing: install requirements.txt "
                           "(django-static-mathjax ships it)")
    root = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"
    if not (root / "es5" / "tex-chtml.js").is_file():
        raise RuntimeError(f"no MathJax 3 distribution under {root}")
    return root


def copy_mathjax(dest: Path) -> Path:
    """Copy the parts of MathJax the book uses to ``dest`` (replacing it); return ``dest``."""
    src = mathjax_source()
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for part in MATHJAX_PARTS:
        s, d = src / "es5" / part, tmp / part
        d.parent.mkdir(parents=True, exist_ok=True)
        if s.is_dir():
            shutil.copytree(s, d)
        else:
            shutil.copy2(s, d)
    shutil.copy2(src / "LICENSE", tmp / "LICENSE")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def _copy_to_static(app, exc):
    if exc is None and app.builder.format == "html":
        copy_mathjax(Path(app.outdir) / "_static" / "mathjax")


def _builder_inited(app):
    if app.builder.format == "html":
        mathjax_source()  # fail early, not after the whole build
        app.config.html_static_path.append(str(Path(__file__).parent / "static"))


def _register_label_style():
    import pybtex.plugin
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle
    from pybtex.style.labels import BaseLabelStyle
    from sphinxcontrib.bibtex.style.referencing import PersonStyle
    from sphinxcontrib.bibtex.style.template import join, year

    person = PersonStyle()  # the citations' default: last names, "et al." from three on
    template = join(sep=", ")[person.author_or_editor_or_title(full=False), year]
    data = {"style": SimpleNamespace(person=person)}

    class AuthorYearLabels(BaseLabelStyle):
        """Labels "Agarwala, 2026", "Chezhegov et al., 2024": the citations' own text."""

        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield template.format_data({**data, "entry": entry}).render_as("text")

    class AuthorYearStyle(UnsrtStyle):
        default_label_style = AuthorYearLabels

    pybtex.plugin.register_plugin("pybtex.style.formatting", "twophase_author_year",
                                  AuthorYearStyle, force=True)


def setup(app):
    _register_label_style()
    app.connect("builder-inited", _builder_inited)
    app.add_css_file("twophase.css")
    app.connect("build-finished", _copy_to_static)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
