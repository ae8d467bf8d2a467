"""The book's sources: the table of contents, chapter notebooks and their ``parameters`` cell.

A *chapter* is a table-of-contents entry whose source is a MyST-markdown notebook in jupytext
format (a ``.md`` file whose front matter has a ``kernelspec``). Every other entry is a plain
*page*, copied into the HTML build as it is.
"""
from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = [
    "BookError", "Entry", "read_toc", "is_notebook_source", "read_notebook",
    "parameters_cell", "read_parameters", "check_value", "parse_value", "type_name",
    "parameter_comments", "parameter_rules", "check_rule",
]


class BookError(ValueError):
    """A user-facing error of the book runner (bad chapter, profile, parameter, ...)."""


@dataclass(frozen=True)
class Entry:
    """One table-of-contents entry.

    ``name`` is the file stem (``01_sgd``), ``docname`` the path without suffix relative to
    the book root (``book/01_sgd``), ``source`` the resolved file (may not exist yet) and
    ``kind`` one of ``"chapter"``, ``"page"`` or ``"missing"``.
    """

    name: str
    docname: str
    source: Path
    kind: str
    part: str | None = None


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.S)


def _front_matter(text: str) -> dict:
    m = _FRONT.match(text)
    if not m:
        return {}
    try:
        data = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def is_notebook_source(path: Path) -> bool:
    """True if ``path`` is a jupytext MyST notebook (front matter with a ``kernelspec``)."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return True
    if path.suffix != ".md" or not path.is_file():
        return False
    return "kernelspec" in _front_matter(path.read_text(encoding="utf-8"))


def _walk_toc(node, part, out):
    if isinstance(node, dict):
        if "file" in node:
            out.append((str(node["file"]), part))
        part_here = node.get("caption", part) if "chapters" in node else part
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                _walk_toc(child, part_here, out)
    elif isinstance(node, list):
        for child in node:
            _walk_toc(child, part, out)


def read_toc(root: Path, chapter_hint=lambda name: bool(re.match(r"^\d+_", name))) -> list[Entry]:
    """Entries of ``<root>/_toc.yml`` in reading order (root page first)."""
    root = Path(root)
    toc_path = root / "_toc.yml"
    if not toc_path.is_file():
        raise BookError(f"no _toc.yml in {root}")
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8")) or {}
    files: list[tuple[str, str | None]] = []
    if "root" in toc:
        files.append((str(toc["root"]), None))
    _walk_toc({k: v for k, v in toc.items() if k in ("parts", "chapters", "sections")}, None, files)
    entries = []
    for docname, part in files:
        docname = re.sub(r"\.(md|ipynb)$", "", docname)
        name = Path(docname).name
        candidates = [root / f"{docname}.md", root / f"{docname}.ipynb"]
        source = next((c for c in candidates if c.is_file()), candidates[0])
        if not source.is_file():
            kind = "missing"
        elif is_notebook_source(source):
            kind = "chapter"
        else:
            kind = "page"
        if kind == "missing" and not chapter_hint(name):
            kind = "missing-page"
        entries.append(Entry(name=name, docname=docname, source=source, kind=kind, part=part))
    return entries


def read_notebook(path: Path):
    """Read a chapter source (jupytext ``.md`` or ``.ipynb``) as an nbformat v4 notebook."""
    import jupytext

    nb = jupytext.read(str(path))
    nb.metadata.setdefault("kernelspec", {"display_name": "Python 3", "language": "python",
                                          "name": "python3"})
    nb.metadata.kernelspec.setdefault("language", "python")
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def parameters_cell(nb):
    """The unique code cell tagged ``parameters`` (or ``None``)."""
    cells = [c for c in nb.cells if c.cell_type == "code"
             and "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if len(cells) > 1:
        raise BookError("more than one cell is tagged `parameters`")
    return cells[0] if cells else None


def read_parameters(source) -> dict:
    """``{name: literal value}`` of the chapter's ``parameters`` cell, in cell order.

    ``source`` is a path or an already-read notebook. Every statement of the cell must be a
    plain assignment ``name = literal``.
    """
    nb = read_notebook(source) if isinstance(source, (str, Path)) else source
    cell = parameters_cell(nb)
    if cell is None:
        return {}
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise BookError(f"the parameters cell is not valid Python: {exc}") from None
    values = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            raise BookError("the parameters cell may only hold plain assignments `name = literal`;"
                            f" found {ast.unparse(stmt)!r}")
        try:
            values[stmt.targets[0].id] = ast.literal_eval(stmt.value)
        except ValueError:
            raise BookError(f"parameter {stmt.targets[0].id!r} is not a literal:"
                            f" {ast.unparse(stmt.value)!r}") from None
    return values


def parameter_comments(source) -> dict:
    """``{name: comment}``: the trailing ``# comment`` of each assignment of the parameters cell.

    A comment may end with a rule in braces that the runner enforces on every value given to
    the parameter (each element of a list): an interval ``in [0, inf)``, ``in (0, 1]`` or
    choices ``one of hd|exact`` (see :func:`_parse_rule`).
    Parameters without a comment map to ``""``.
    """
    nb = read_notebook(source) if isinstance(source, (str, Path)) else source
    cell = parameters_cell(nb)
    if cell is None:
        return {}
    text = cell.source
    comments: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return {}
    out = {}
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], ast.Name):
            lines = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
            out[stmt.targets[0].id] = " ".join(comments[i] for i in lines if i in comments)
    return out


_NUM = r"[-+]?(?:inf|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_INTERVAL = re.compile(r"\bin\s*([\[(])\s*(" + _NUM + r")\s*,\s*(" + _NUM + r")\s*([\])])\s*\.?\s*$")
_CHOICES = re.compile(r"\bone of\s*:?\s*([\w.+-]+(?:\s*\|\s*[\w.+-]+)+)\s*\.?\s*$")


def _parse_rule(comment: str):
    """The rule ending a parameter's comment: ``in [a, b]`` / ``in (a, b)`` (``inf`` allowed;
    brackets include, parentheses exclude the end point) or ``one of a|b|c``; else None.

    No ``=`` sign: papermill reads the parameters cell line by line and gives up on a line with
    more than one.
    """
    comment = comment or ""
    m = _INTERVAL.search(comment)
    if m:
        lo, hi = float(m.group(2)), float(m.group(3))
        bounds = []
        if lo != float("-inf"):
            bounds.append((">=" if m.group(1) == "[" else ">", lo))
        if hi != float("inf"):
            bounds.append(("<=" if m.group(4) == "]" else "<", hi))
        return ("bounds", bounds, m.group(0).strip()[2:].strip().rstrip("."))
    m = _CHOICES.search(comment)
    if m:
        return ("choices", [c.strip() for c in m.group(1).split("|")], None)
    return None


def parameter_rules(source) -> dict:
    """``{name: rule}`` from the parameters cell's comments (see :func:`parameter_comments`),
    plus the built-in rule that a random seed (``seed``, ``*_seed``) is an integer >= 0."""
    rules = {}
    try:
        comments = parameter_comments(source)
        cell = read_parameters(source)
    except BookError:
        return {}
    for name, default in cell.items():
        rule = _parse_rule(comments.get(name, ""))
        if rule is None and (name == "seed" or name.endswith("_seed")) and type_name(default) == "int":
            rule = ("bounds", [(">=", 0.0)], "[0, inf)")
        if rule is not None:
            rules[name] = rule
    return rules


def _rule_text(rule) -> str:
    kind, spec, interval = rule
    if kind == "choices":
        return "one of " + ", ".join(repr(c) for c in spec)
    text = " and ".join(f"{op} {v:g}" for op, v in spec)
    return f"{text} (in {interval})" if interval else text


def check_rule(name: str, value, rule) -> None:
    """Raise :class:`BookError` if ``value`` (each element of a list) breaks ``rule``."""
    if rule is None:
        return
    items = value if isinstance(value, list) else [value]
    kind, spec, _ = rule
    for i, v in enumerate(items):
        label = name if not isinstance(value, list) else f"{name}[{i}]"
        if kind == "choices":
            ok = str(v) in spec
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            ok = all({">=": v >= b, ">": v > b, "<=": v <= b, "<": v < b}[op] for op, b in spec)
        if not ok:
            raise BookError(f"parameter {label!r} must be {_rule_text(rule)}; got {v!r}"
                            + (f" (in {name} = {value!r})" if isinstance(value, list) else ""))


def type_name(default) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, (list, tuple)):
        return "list"
    if default is None:
        return "any literal"
    return type(default).__name__


def _element_kind(default_list) -> str | None:
    kinds = {type_name(x) for x in default_list}
    if not kinds:
        return None
    if kinds <= {"int", "float"}:
        return "float" if "float" in kinds else "int"
    return kinds.pop() if len(kinds) == 1 else None


def check_value(name: str, value, default, where: str = ""):
    """Check ``value`` against the type of the ``parameters``-cell literal ``default``.

    Returns the value to inject (ints become floats for float parameters, tuples lists).
    Raises :class:`BookError` naming the parameter, the expected type and the value.
    """
    kind = type_name(default)
    where = f" ({where})" if where else ""
    bad = BookError(f"parameter {name!r}{where} must be {kind} like the parameters cell's"
                    f" {default!r}; got {value!r} ({type_name(value)})")
    if default is None:
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if not math.isfinite(float(value)):
            raise BookError(f"parameter {name!r}{where} must be a finite float (not nan or"
                            f" inf); got {value!r}")
        return float(value)
    if kind == "str":
        if not isinstance(value, str):
            raise bad
        return value
    if kind == "list":
        if not isinstance(value, (list, tuple)):
            raise bad
        value = list(value)
        if default and not value:
            raise BookError(f"parameter {name!r}{where} must be a non-empty list like the"
                            f" parameters cell's {default!r}; got []")
        elem = _element_kind(default)
        if elem is not None:
            value = [check_value(f"{name}[{i}]", v, {"int": 0, "float": 0.0, "str": "",
                                                       "bool": False, "list": []}.get(elem), "")
                     if elem in ("int", "float", "str", "bool", "list") else v
                     for i, v in enumerate(value)]
        return value
    if type(value) is not type(default):
        raise bad
    return value


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_value(name: str, text: str, default):
    """Parse a command-line ``VALUE`` for parameter ``name`` by the type of ``default``.

    int: ``20``; float: ``0.5``, ``1e-3`` or an int; bool: ``true/false/yes/no/on/off/1/0``;
    str: taken as is; list: a Python/JSON list literal (``[1, 2]``) or comma-separated items.
    """
    kind = type_name(default)
    err = BookError(f"parameter {name!r} expects {kind} (the parameters cell has {default!r});"
                    f" cannot parse {text!r}")
    if kind == "bool":
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise err
    if kind == "int":
        try:
            return int(text.strip())
        except ValueError:
            raise err from None
    if kind == "float":
        try:
            value = float(text.strip())
        except ValueError:
            raise err from None
        if not math.isfinite(value):
            raise BookError(f"parameter {name!r} must be a finite float (not nan or inf);"
                            f" got {text!r}")
        return value
    if kind == "str":
        return text
    if kind == "list":
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = None
        if not isinstance(value, (list, tuple)):
            items = [t.strip() for t in text.split(",") if t.strip()]
            elem = _element_kind(default)
            proto = {"int": 0, "float": 0.0, "bool": False}.get(elem, "")
            value = []
            for i, t in enumerate(items):
                try:
                    value.append(parse_value(f"{name}[{i}]", t, proto))
                except BookError as exc:
                    if "finite" in str(exc):
                        raise
                    raise BookError(
                        f"parameter {name!r} expects a list of {elem or 'values'} like the"
                        f" parameters cell's {default!r}; cannot parse {text!r} (item {t!r} is"
                        f" not {'an' if (elem or '')[:1] in 'aeiou' else 'a'} {elem});"
                        " separate items by commas (1,2) or write a list ([1, 2])") from None
        return check_value(name, value, default)
    # default None or other literal: best effort
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
