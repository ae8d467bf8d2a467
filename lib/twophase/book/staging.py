"""Stage the executed book as a Sphinx source tree and build its HTML.

``_build/site/`` mirrors the repository root: ``_config.yml`` (with execution turned off),
``_toc.yml`` (chapters that have no executed notebook left out), the plain pages of ``book/``,
``book/references.bib``, and every chapter as its *executed* notebook ``book/<chapter>.ipynb``.
Jupyter Book then renders it with warnings as errors into ``_build/html``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import yaml

from .claims import _esc
from ..notebook import run_info_label
from .cache import KEY_FORMAT

__all__ = ["stage_site", "run_sphinx", "report_markdown", "terminal_table", "CACHE_KEY_TEXT",
           "HEADER_TAG"]

HEADER_TAG = "twophase-run-info"
REPORT_PAGE = "report"
CLAIMS_PAGE = "claims"

CACHE_KEY_TEXT = f"""\
A chapter is executed again only when its *cache key* changes. The key is the SHA-256 digest
of, in this order: the key format tag (`{KEY_FORMAT}`); the chapter's name and the bytes of its
source `book/<chapter>.md`; the profile name and the chapter's resolved parameters as JSON with
sorted keys; the relative path and bytes of every file under `lib/` (the `twophase` library,
the book runner itself and `lib/pyproject.toml`; byte-code caches and egg-info excluded); and the
bytes of `requirements.txt`, the pinned toolchain. Each item is labelled and length-prefixed.
Jupyter Book's own execution cache only hashes the notebook's code cells, so it would reuse
stale outputs after a change to the library; that is why the runner executes the chapters with
papermill under this key and Jupyter Book renders them with its execution turned off. The key and
the status of the last run are kept in `_build/chapters/<chapter>/cache.json`; outputs are reused
only when the key matches, the last run succeeded and the executed notebook is still there."""




def _fmt_s(x) -> str:
    return "-" if x is None else f"{x:.1f}"


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none"


def _staged(r) -> bool:
    """True if chapter result ``r`` gets a page in the staged site (see :func:`stage_site`)."""
    return r.status in ("ok", "failed") and bool(r.notebook) and Path(r.notebook).is_file()


def _chapter_link(r) -> str:
    return f"{{doc}}`{r.chapter} <{r.chapter}>`" if _staged(r) else _esc(r.chapter)


def _chapter_name_link(build, chapter: str) -> str:
    for r in build.chapters:
        if r.chapter == chapter:
            return _chapter_link(r)
    return _esc(chapter)


def _status_text(r) -> str:
    if r.action == "reused":
        return f"{r.status} (reused)"
    if r.action == "executed":
        return r.status
    return r.status if r.status != "skipped" else "not in this build"


def _time_text(r) -> str:
    if r.action == "executed":
        return _fmt_s(r.seconds)
    if r.action == "reused":
        return f"0 (ran {_fmt_s(r.exec_seconds)})"
    return "-"


def report_markdown(runner, build) -> str:
    """The execution-report page (MyST markdown).

    Narrow enough for the book's column: the chapter table has four short columns (the cache
    keys and parameters are listed below it), and the claims are lists, not wide tables.
    Every chapter that has a page is linked; every claim check has an anchor
    (:func:`twophase.book.claims.check_anchor`) that the claims page links to.
    """
    from .. import __version__
    from .claims import check_anchor

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "(execution-report)=", "# Execution report", "",
        "This page is written by `python -m twophase.book build` every time the book is built"
        " (the `book/report.md` in the repository is a placeholder). It records how each chapter"
        " was produced in this build; the papers' claims and the book's verdicts are on the"
        " [claims page](claims.md).", "",
        f"Build of {now}: profile `{build.profile}`, twophase {__version__},"
        f" Python {sys.version.split()[0]}" + (f", {build.jobs} chapters at a time"
                                               if getattr(build, "jobs", 1) > 1 else "") + ".", "",
        "## Chapters", "",
        "| chapter | status | seconds | claims (passed / failed) |",
        "|---|---|---:|---:|",
    ]
    for r in build.chapters:
        lines.append(f"| {_chapter_link(r)} | {_status_text(r)} | {_time_text(r)} |"
                     f" {r.claims_passed} / {r.claims_failed} |")
    lines += ["", "*reused*: the outputs of an earlier run with the same cache key; its"
              " execution time, commit and date are those of that run.", ""]
    errors = [r for r in build.chapters if r.error and r.status != "skipped"]
    problems = list(getattr(build, "claims_problems", []) or [])
    if errors or problems:
        lines += ["## Errors", ""]
        for r in errors:
            lines.append(f"- **{_esc(r.chapter)}** ({r.status}): {_esc(r.error)}")
        for p in problems:
            lines.append(f"- **paper claims**: {_esc(p)}")
        lines.append("")
    lines += ["## Parameters and provenance", ""]
    for r in build.chapters:
        if r.status in ("ok", "failed") and (r.executed_utc or r.parameters):
            lines.append(f"- **{_chapter_link(r)}**: executed {_esc(r.executed_utc or '-')}"
                         f" at commit `{_esc(r.git_commit or '-')}`, cache key"
                         f" `{r.key[:12] or '-'}`; parameters {_esc(_params_text(r.parameters))}.")
    lines += ["", "## Claims", "",
              "Every claim a chapter makes in its text is checked by `twophase.notebook.claim`"
              " while the chapter runs; a claim that does not hold fails the build.", ""]
    any_claims = False
    for r in build.chapters:
        if not r.claims:
            continue
        any_claims = True
        label = check_anchor(r.chapter, "")
        lines += [f"({label})=", f"### {_esc(r.chapter)}", ""]
        if _staged(r):
            lines += [f"Chapter: {_chapter_link(r)}.", ""]
        for c in r.claims:
            key = str(c.get("key", ""))
            verdict = "holds" if c.get("holds") else "**FAILS**"
            lines.append(f'- <span id="{check_anchor(r.chapter, key)}"></span>'
                         f"`{key.replace('`', '')}`: {verdict}. {_esc(c.get('detail', ''))}")
        lines.append("")
    if not any_claims:
        lines += ["No claims were recorded in this build.", ""]
    summary = getattr(build, "claims_summary", None)
    if summary is not None and summary.records:
        from .claims import claim_anchor

        lines += ["## The papers' claims", "",
                  "The verdict each chapter computed on the papers' claims; conditions and"
                  " evidence are on the [claims page](claims.md).", ""]
        for rec in summary.records:
            where = f" ({_chapter_name_link(build, rec['chapter'])})" if rec.get("chapter") else ""
            lines.append(f'- <a href="claims.html#{claim_anchor(rec["id"])}">{rec["id"]}</a>:'
                         f" {rec['verdict']}{where}")
        lines.append("")
    lines += ["## How the cache key is built", "", CACHE_KEY_TEXT, ""]
    return "\n".join(lines)


def terminal_table(build) -> str:
    """The per-chapter summary printed at the end of ``build``."""
    head = ("chapter", "action", "status", "seconds", "claims ok/fail", "key")
    rows = [head]
    for r in build.chapters:
        secs = f"{r.seconds:.1f}" if r.action == "executed" else (
            f"0 ({_fmt_s(r.exec_seconds)})" if r.action == "reused" else "-")
        rows.append((r.chapter, r.action, r.status, secs,
                     f"{r.claims_passed}/{r.claims_failed}", r.key[:12] or "-"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*rows[0]), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*row) for row in rows[1:]]
    out.append(f"sphinx: {build.sphinx_status}; total {build.seconds:.1f} s; "
               f"{'OK' if build.ok else 'FAILED'}")
    return "\n".join(out)


def _header_cell(runner, r, docname: str):
    import nbformat

    name = r.chapter
    params = _params_text(r.parameters)
    rerun = f"python -m twophase.book run {name} --profile {r.profile} -p NAME VALUE"
    failed = []
    if r.status != "ok":
        failed = [
            "```{admonition} This chapter failed in this build",
            ":class: error",
            f"{_esc(r.error or 'the chapter did not run to the end')}. The outputs below are"
            " those of the failed run, up to the error; see the [execution report](report.md).",
            "```", ""]
    src = "\n".join(failed + [
        "```{admonition} How this page was made",
        ":class: tip",
        f":name: {run_info_label(name)}",  # each figure's provenance line links here
        f"Downloads: {{download}}`MyST notebook source ({name}.md) </downloads/{name}.md>` and"
        f" {{download}}`executed notebook ({name}.ipynb) </downloads/{name}.ipynb>`.",
        "",
        f"Executed by `python -m twophase.book` with profile `{r.profile}`"
        f" ({_esc(params)}) on {_esc(r.executed_utc or '-')}, commit"
        f" `{_esc(r.git_commit or '-')}`, cache key `{r.key[:12]}`;"
        f" took {_fmt_s(r.exec_seconds)} s. Re-run it with other parameters:"
        f" `{rerun}` (see the introduction).",
        "```",
    ])
    cell = nbformat.v4.new_markdown_cell(src)
    cell.metadata["tags"] = [HEADER_TAG]
    return cell


_GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`([^`]+)`")


def _glued_keys(nb) -> set:
    return {o.get("metadata", {}).get("scrapbook", {}).get("name")
            for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])}


def _blank_missing_glue(nb) -> int:
    """In a FAILED chapter, replace glue roles whose key was never computed.

    Cells after the error never ran, so their ``{glue:text}`` keys do not exist and would be
    Sphinx warnings, burying the real failure. Returns the number of roles replaced.
    """
    have = _glued_keys(nb)
    count = 0

    def repl(m):
        nonlocal count
        target = m.group(1)
        key = target if "::" in target else target.split(":", 1)[0]
        if "::" in target or key in have:
            return m.group(0)
        count += 1
        return "*(not computed)*"

    for c in nb.cells:
        if c.cell_type == "markdown":
            c.source = _GLUE_ROLE.sub(repl, c.source)
    return count


def _insert_header(nb, cell) -> None:
    idx = 0
    for i, c in enumerate(nb.cells):
        if c.cell_type == "markdown" and re.search(r"^#\s", c.source, re.M):
            idx = i + 1
            break
    nb.cells.insert(idx, cell)


_EXTENSION = '''\
"""Generated by twophase.book.staging: point launch buttons at the MyST sources.

In the staged build a chapter's page source is its executed ``.ipynb``, which is not in the
repository; the repository holds ``book/<chapter>.md`` (opened as a notebook by jupytext on
Binder). This rewrites the launch links of chapter pages accordingly.
"""
SOURCES = {sources}


def _rewrite(node, old, new):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url" and isinstance(value, str) and "urlpath=" in value:
                node[key] = value.replace(old, new)
            else:
                _rewrite(value, old, new)
    elif isinstance(node, list):
        for item in node:
            _rewrite(item, old, new)


def _page_context(app, pagename, templatename, context, doctree):
    if pagename in SOURCES:
        _rewrite(context.get("header_buttons", []), pagename + ".ipynb", SOURCES[pagename])


def setup(app):
    app.connect("html-page-context", _page_context, priority=900)
    return {{"parallel_read_safe": True, "parallel_write_safe": True}}
'''


def _filter_toc(node, keep):
    """Copy of a toc node without ``file`` entries whose docname is not in ``keep``."""
    if isinstance(node, list):
        out = []
        for child in node:
            c = _filter_toc(child, keep)
            if c is not None:
                out.append(c)
        return out
    if isinstance(node, dict):
        if "file" in node and re.sub(r"\.(md|ipynb)$", "", str(node["file"])) not in keep:
            return None
        new = {}
        for k, v in node.items():
            if k in ("parts", "chapters", "sections"):
                v = _filter_toc(v, keep)
                if not v:
                    continue
            new[k] = v
        if "file" not in new and not any(k in new for k in ("parts", "chapters", "sections",
                                                             "root")):
            return None
        return new
    return node


def stage_site(runner, build, report: str) -> Path:
    """Write ``_build/site`` and return it."""
    import nbformat

    from .claims import SUMMARY_MARKER, assemble, claims_page, intro_summary

    summary = getattr(build, "claims_summary", None) or assemble(build.chapters, None)
    root, site = runner.root, runner.build_dir / "site"
    tmp = site.with_name(f".site.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    results = {r.chapter: r for r in build.chapters}
    keep = set()
    sources = {}
    for entry in runner.entries:
        if entry.kind in ("page", "missing-page"):
            keep.add(entry.docname)
            dst = tmp / f"{entry.docname}.md"
            dst.parent.mkdir(parents=True, exist_ok=True)
            if entry.name == REPORT_PAGE:
                dst.write_text(report, encoding="utf-8")
            elif entry.name == CLAIMS_PAGE and entry.docname.startswith("book/"):
                dst.write_text(claims_page(summary, build.profile), encoding="utf-8")
            elif entry.kind == "page":
                text = entry.source.read_text(encoding="utf-8")
                if SUMMARY_MARKER in text:
                    text = text.replace(SUMMARY_MARKER, intro_summary(summary))
                (tmp / (entry.docname + entry.source.suffix)).write_text(text, encoding="utf-8")
            continue
        r = results.get(entry.name)
        # ok chapters, and failed ones with their traceback (so the failure is visible and
        # links to the chapter still resolve); chapters that never ran are left out
        if (r is None or r.status not in ("ok", "failed") or not r.notebook
                or not Path(r.notebook).is_file()):
            continue
        nb = nbformat.read(r.notebook, as_version=4)
        downloads = tmp / "downloads"
        downloads.mkdir(exist_ok=True)
        shutil.copy2(entry.source, downloads / f"{entry.name}{entry.source.suffix}")
        nbformat.write(nb, str(downloads / f"{entry.name}.ipynb"))
        if r.status != "ok":
            _blank_missing_glue(nb)
        _insert_header(nb, _header_cell(runner, r, entry.docname))
        # the figures' files, where their download links point (twophase.notebook.show_figure)
        figs = Path(r.notebook).parent / "figures"
        if figs.is_dir():
            shutil.copytree(figs, tmp / "figures" / entry.name, dirs_exist_ok=True)
        dst = tmp / f"{entry.docname}.ipynb"
        dst.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(dst))
        keep.add(entry.docname)
        sources[entry.docname] = entry.source.relative_to(root).as_posix()
    # assets next to the pages (bibliography, images, ...), never chapter sources
    book = root / "book"
    if book.is_dir():
        for p in book.rglob("*"):
            rel = p.relative_to(root)
            if (p.is_file() and p.suffix not in (".md", ".ipynb", ".yml", ".yaml")
                    and not any(part.startswith(".") for part in rel.parts)):
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(p, tmp / rel)
    # table of contents without the chapters that have nothing to show
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    if re.sub(r"\.(md|ipynb)$", "", str(toc.get("root", ""))) not in keep:
        raise RuntimeError(f"the toc root {toc.get('root')!r} is not a plain page")
    toc = _filter_toc(toc, keep)
    (tmp / "_toc.yml").write_text(
        "# Generated by twophase.book: chapters without executed output are left out.\n"
        + yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    # configuration: execution off, executed notebooks included, downloads not documents
    cfg = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    cfg.setdefault("execute", {})["execute_notebooks"] = "off"
    excl = [p for p in cfg.get("exclude_patterns", []) if not p.startswith("book/*.ipynb")]
    cfg["exclude_patterns"] = excl + ["downloads", "downloads/**", "_ext", "_ext/**"]
    ext_dir = tmp / "_ext"
    ext_dir.mkdir()
    (ext_dir / "twophase_staging.py").write_text(
        _EXTENSION.format(sources=json.dumps(sources, indent=1, sort_keys=True)),
        encoding="utf-8")
    sph = cfg.setdefault("sphinx", {}) or {}
    cfg["sphinx"] = sph
    local = dict(sph.get("local_extensions") or {})
    local["twophase_staging"] = str(site / "_ext")
    sph["local_extensions"] = local
    (tmp / "_config.yml").write_text(
        "# Generated by twophase.book from the repository's _config.yml (execution off).\n"
        + yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    from .fsops import _swap_dir

    _swap_dir(tmp, site)
    return site


_JB = ("import sys; from jupyter_book.cli.main import main; "
       "sys.argv[0] = 'jupyter-book'; sys.exit(main())")


def run_sphinx(runner, site: Path) -> bool:
    """``jupyter-book build`` the staged site with -W; True if it passed.

    Jupyter Book writes into a folder aside (``_build/.html-tmp-PID``); only a build that ran
    to the end (its ``index.html`` written) replaces ``_build/html``, in one atomic exchange.
    An interrupt (Ctrl-C, SIGTERM) stops Jupyter Book's process group, removes the aside
    folder and leaves the previous ``_build/html`` exactly as it was.
    """
    from . import procs
    from .fsops import _rmtree, _swap_dir

    aside = runner.build_dir / f".html-tmp-{os.getpid()}"
    _rmtree(aside)
    aside.mkdir(parents=True)
    cmd = [sys.executable, "-c", _JB, "build", str(site), "--path-output", str(aside),
           "--warningiserror", "--keep-going", "--all"]
    log = runner.build_dir / "sphinx.log"
    try:
        with open(log, "w", encoding="utf-8") as fh:
            proc = procs.popen(cmd, cwd=runner.root, stdout=fh, stderr=subprocess.STDOUT,
                               text=True)
            try:
                rc = proc.wait()
            except BaseException:
                procs.stop(proc)
                raise
        text = log.read_text(encoding="utf-8", errors="replace")
        problems = [ln for ln in text.splitlines()
                    if re.search(r"WARNING|ERROR|Exception|Error:|Traceback", ln)]
        for ln in problems[:50]:
            runner._out("  sphinx: " + ln)
        new = aside / "_build" / "html"
        finished = (new / "index.html").is_file()
        ok = rc == 0 and not problems and finished
        if finished:
            _swap_dir(new, runner.build_dir / "html")
        index = runner.build_dir / "html" / "index.html"
        if not ok:
            tail = "\n".join(text.splitlines()[-15:])
            kept = ("the new pages replaced _build/html" if finished else
                    "_build/html was left as it was")
            runner._out(f"HTML build FAILED (exit {rc}; {kept}); full log: {log}\n{tail}")
        else:
            runner._out(f"HTML: {index}")
        return ok
    finally:
        _rmtree(aside)
