"""The rendered book read in a real browser: headless Chromium (Debian's ``chromium``).

Every page of a ``quick`` build of the real book is opened from disk (``file://``, as a reader
without network would) at a 1,400 px window, MathJax is waited for, and the page is checked as
a reader would see it (the checks run in the page, ``tools/browser.py`` ``PAGE_CHECKS_JS``):

* math: every math element is typeset by MathJax (holds an ``mjx-container``, no MathJax
  error) and no raw ``\\(``, ``\\[``, ``$$`` or ``$...$`` is left in the text outside code;
* nothing (script, stylesheet, font, image, ...) is fetched from outside the built site;
* no table markup (``|---|`` rows, lines of pipes) shows as text;
* every image is in a numbered ``<figure>`` with a caption, and every figure is numbered;
* no code block scrolls sideways, and no table or display equation is wider than the column;
* no output is a bare ``True`` or ``False``;
* each figure links its PNG and PDF and has a provenance line whose link resolves, and the
  bibliography's labels read as the citations do.

The first tests run the same checks on two small hand-written pages, one with each defect and
one without, so a check that could never fail would be caught.

Without Chromium the tests skip, saying so; with ``CI=true`` they never skip (they fail).
``TWOPHASE_BROWSER_HTML=<dir>`` checks an existing HTML build instead of building one.
"""
import os
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import browser  # noqa: E402

#: With pytest-xdist, the browser tests run on the worker that holds the session's quick build.
pytestmark = pytest.mark.xdist_group("real_book")


def _need_chromium() -> str:
    exe = browser.find_chromium()
    if exe:
        return exe
    msg = ("headless Chromium not found (Debian: apt-get install chromium; the README test "
           "command installs it when it can)")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + "; CI=true, so the browser tests do not skip")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def chromium():
    exe = _need_chromium()
    with browser.Browser(exe) as b:
        yield b


# -- the checks themselves, on two hand-written pages -------------------------------------------

_BAD = """<!doctype html><html><head><meta charset="utf-8">
<script src="http://127.0.0.1:9/lib.js"></script>
<link rel="stylesheet" href="https://127.0.0.1:9/style.css"></head>
<body><main><article style="width: 700px">
<p>Raw inline <span class="math">\\(x^2\\)</span> and a dollar pair $a_i$ left in text.</p>
<p>| a | b |
|---|---|
| 1 | 2 |</p>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10">
<figure><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="><figcaption><p>No number.</p>
</figcaption></figure>
<pre>{long}</pre>
<table><tr><td style="white-space: nowrap">{long}</td></tr></table>
<mjx-container display="true" style="display: block; width: 300px; overflow: hidden">
<mjx-math style="display: inline-block; width: 900px">x</mjx-math></mjx-container>
<div class="cell_output"><div class="output text_plain"><pre>True</pre></div></div>
</article></main></body></html>""".replace("{long}", "x = 1  # " + "long " * 60)

_GOOD = """<!doctype html><html><head><meta charset="utf-8"></head>
<body><main><article style="width: 700px">
<p>Costs are in <code>$HOME</code>; code may show <code>\\(</code> as it likes.</p>
<pre>print("$x$ | a | b |")</pre>
<figure id="f"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10">
<figcaption><p><span class="caption-number">Fig. 1.1 </span><span class="caption-text">A.</span>
</p></figcaption></figure>
<div class="cell_output"><div class="output text_plain"><pre>True and more</pre></div></div>
</article></main></body></html>"""


def _check_html(chromium, tmp_path, html):
    page_file = tmp_path / "page.html"
    page_file.write_text(html, encoding="utf-8")
    page = chromium.open(page_file)
    try:
        return page.check()
    finally:
        page.close()


def test_checks_find_each_defect_on_a_bad_page(chromium, tmp_path):
    r = _check_html(chromium, tmp_path, _BAD)
    assert r["untypeset"] == ["\\(x^2\\)"]  # no MathJax on this page: nothing typeset
    assert len(r["rawMath"]) == 1 and "$a_i$" in r["rawMath"][0]
    assert len(r["tableText"]) == 1 and "|---|" in r["tableText"][0]
    assert len(r["unfigured"]) == 2  # the bare image and the unnumbered figure
    assert len(r["wideCode"]) == 1 and r["wideCode"][0]["overflow"] > 100
    assert len(r["wideTables"]) == 1
    assert len(r["wideMath"]) == 1 and r["wideMath"][0]["overflow"] > 500
    assert r["bareBool"] == ["True"]
    outside = {q["url"]: q["type"] for q in r["requests"] if not q["url"].startswith("file:")}
    # (port 9 refuses at once, so the page does not wait for a network that is not there)
    assert outside == {"http://127.0.0.1:9/lib.js": "Script",
                       "https://127.0.0.1:9/style.css": "Stylesheet"}


def test_checks_pass_a_clean_page(chromium, tmp_path):
    r = _check_html(chromium, tmp_path, _GOOD)
    for key in ("untypeset", "mathErrors", "rawMath", "tableText", "unfigured", "wideCode",
                "wideMath", "wideTables", "bareBool"):
        assert r[key] == [], key
    assert [(f["id"], f["number"], f["caption"]) for f in r["figures"]] == [
        ("f", "Fig. 1.1", "A.")]
    assert all(q["url"].startswith(("file:", "data:")) for q in r["requests"])


# -- the real book -------------------------------------------------------------------------------

def _toc_docnames(node) -> list:
    out = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if key in node:
                out.append(str(node[key]).rsplit(".", 1)[0] if str(node[key]).endswith(
                    (".md", ".ipynb")) else str(node[key]))
        for value in node.values():
            if isinstance(value, (list, dict)):
                out += _toc_docnames(value)
    elif isinstance(node, list):
        for item in node:
            out += _toc_docnames(item)
    return out


DOCNAMES = _toc_docnames(yaml.safe_load((REPO / "_toc.yml").read_text()))


@pytest.fixture(scope="session")
def quick_html(request):
    """The HTML of the session's quick build of the real book (``quick_book_build`` in
    conftest.py, shared with the runner's end-to-end test), or ``$TWOPHASE_BROWSER_HTML``."""
    _need_chromium()  # no build when the checks cannot run
    given = os.environ.get("TWOPHASE_BROWSER_HTML")
    if given:
        return Path(given).resolve(), "given"
    _, res, build = request.getfixturevalue("quick_book_build")
    status = ", ".join(f"{c.chapter}: {c.status}" for c in res.chapters)
    return Path(build) / "html", f"sphinx {res.sphinx_status}; {status}"


@pytest.fixture(scope="session")
def reports(quick_html, chromium):
    html, _ = quick_html
    out = {}
    for doc in DOCNAMES:
        path = html / f"{doc}.html"
        if path.is_file():
            page = chromium.open(path)
            out[doc] = page.check()
            page.close()
    return out


def _failures(reports, key, show=3):
    bad = {doc: r[key] for doc, r in reports.items() if r[key]}
    return "\n".join(f"{doc}: {len(v)}: " + " | ".join(map(str, v[:show]))
                     for doc, v in bad.items())


@pytest.mark.book
def test_every_page_of_the_toc_was_built(quick_html, reports):
    html, status = quick_html
    missing = [d for d in DOCNAMES if d not in reports]
    assert not missing, f"pages not in {html}: {missing} ({status})"


@pytest.mark.book
def test_math_is_typeset_by_the_sites_own_mathjax(quick_html, reports):
    problems = "\n".join(filter(None, (_failures(reports, k) for k in
                                       ("untypeset", "mathErrors", "rawMath"))))
    assert not problems, "math not typeset, or raw TeX left in the text:\n" + problems
    assert sum(r["mathCount"] for r in reports.values()) > 0
    html, _ = quick_html
    mathjax = [q["url"] for r in reports.values() for q in r["requests"]
               if q["type"] == "Script" and "mathjax" in q["url"].lower()]
    assert mathjax and all(u.startswith((html / "_static/mathjax").as_uri()) for u in mathjax)


@pytest.mark.book
def test_nothing_is_fetched_from_outside_the_site(quick_html, reports):
    html, _ = quick_html
    site = html.as_uri() + "/"
    outside = {doc: sorted({f"{q['type']} {q['url']}" for q in r["requests"]
                            if not q["url"].startswith((site, "data:", "blob:", "about:"))})
               for doc, r in reports.items()}
    outside = {doc: v for doc, v in outside.items() if v}
    assert not outside, f"requests outside {site}: {outside}"


@pytest.mark.book
def test_no_table_markup_shows_as_text(reports):
    problems = _failures(reports, "tableText")
    assert not problems, "Markdown table markup rendered as text:\n" + problems


@pytest.mark.book
def test_every_figure_is_numbered_and_captioned(reports):
    problems = _failures(reports, "unfigured")
    unnumbered = [f"{doc}: #{f['id']}" for doc, r in reports.items() for f in r["figures"]
                  if not f["number"] or not f["caption"]]
    assert not problems and not unnumbered, (
        "images outside a numbered <figure>:\n" + problems + "\nfigures without a number "
        f"or caption: {unnumbered}")
    assert sum(len(r["figures"]) for r in reports.values()) > 0


@pytest.mark.book
def test_figures_offer_their_files_and_a_provenance_line(quick_html, reports):
    """Under each figure: links to its PNG and PDF (files that exist in the site) and a
    collapsed provenance line (profile, commit) whose link leads to the page's parameters."""
    html, _ = quick_html
    problems = []
    for doc, r in reports.items():
        page_dir = (html / doc).parent
        for f in r["figures"]:
            exts = sorted(Path(h).suffix for h in f["downloads"])
            missing = [h for h in f["downloads"] if not (page_dir / h).is_file()]
            if not {".pdf", ".png"} <= set(exts) or missing:
                problems.append(f"{doc}#{f['id']}: downloads {f['downloads']} missing {missing}")
            if not (f["provenance"].startswith("Provenance: profile") and "commit" in
                    f["provenance"]) or f["brokenLinks"]:
                problems.append(f"{doc}#{f['id']}: provenance {f['provenance']!r}, "
                                f"broken links {f['brokenLinks']}")
    assert not problems, "\n".join(problems)


@pytest.mark.book
def test_no_code_block_scrolls_sideways(reports):
    problems = _failures(reports, "wideCode", show=2)
    assert not problems, (f"code blocks wider than the column at a {browser.WIDTH} px window "
                          "(overflow in px, longest line):\n" + problems)


@pytest.mark.book
def test_no_table_is_wider_than_the_column(reports):
    problems = _failures(reports, "wideTables", show=2)
    assert not problems, f"tables wider than the column at {browser.WIDTH} px:\n" + problems


@pytest.mark.book
def test_no_display_equation_is_wider_than_the_column(reports):
    problems = _failures(reports, "wideMath", show=3)
    assert not problems, f"display equations wider than the column at {browser.WIDTH} px:\n" + problems


@pytest.mark.book
def test_no_output_is_a_bare_boolean(reports):
    problems = _failures(reports, "bareBool", show=1)
    assert not problems, ("outputs that are only True/False (a claim(...) or comparison as a "
                          "cell's last line):\n" + problems)


@pytest.mark.book
def test_bibliography_labels_read_as_the_citations(quick_html):
    """A citation "[Agarwala, 2026]" leads to the entry labelled "[Agarwala, 2026]", not
    "[Aga26]" (the style twophase_author_year of book/_ext/twophase_sphinx.py)."""
    import html as html_lib
    import re

    html, _ = quick_html
    bib = (html / "book/bibliography.html").read_text(encoding="utf-8")
    labels = dict(re.findall(r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label">'
                             r'<span class="fn-bracket">\[</span>(.*?)<span', bib))
    assert labels, "no bibliography entries found"
    cites = []
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        cites += re.findall(r'<a class="reference internal" href="(?:[^"]*/)?bibliography\.html'
                            r'#([^"]+)"[^>]*>([^<]+)</a>', text)
    assert cites, "no citations found"
    wrong = sorted({(i, html_lib.unescape(text), labels.get(i)) for i, text in cites
                    if labels.get(i) != html_lib.unescape(text)})
    assert not wrong, f"citation text != bibliography label (id, citation, label): {wrong}"
