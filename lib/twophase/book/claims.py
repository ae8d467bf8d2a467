"""The papers' claims: the registry ``book/paper_claims.yml`` and the claims page.

Each chapter records its computed verdict on the paper claims it tests with
:func:`twophase.notebook.paper_claim`, which writes ``paper_claims.json`` into the chapter's
output folder. After the chapters ran, the runner

* reads the registry (every claim id of both papers, with its paper and a paraphrase),
* assembles one record per claim (:func:`assemble`), written to ``_build/paper_claims.json``,
* and writes the claims page ``book/claims.md`` and the intro's summary into the staged site.

Rules (see :func:`assemble`): an id a chapter records that is not in the registry fails the
build; so does a check named as evidence that the chapter never recorded. An id of the registry
that no chapter recorded is listed as ``not tested``; it fails the build only when the
registry says ``enforce: true`` *and* the build covered every chapter (a partial build,
``--only``, cannot know what the chapters it left out would have recorded).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .sources import BookError

__all__ = ["Registry", "ClaimsSummary", "NOT_TESTED", "read_paper_claims", "assemble",
           "claims_page", "intro_summary", "check_anchor", "claim_anchor", "SUMMARY_MARKER"]

NOT_TESTED = "not tested"
VERDICT_ORDER = ("reproduced", "reproduced under conditions", "not reproduced",
                 "not testable here", NOT_TESTED)
#: The line in ``book/intro.md`` that the staged build replaces by the summary table.
SUMMARY_MARKER = "<!-- twophase:claims-summary -->"
_RECORD_KEYS = ("id", "verdict", "conditions", "chapter", "evidence", "checks")


def _verdicts():
    from ..notebook import VERDICTS

    return VERDICTS


@dataclass
class Registry:
    """Parsed ``book/paper_claims.yml``: ``claims`` in file order and ``enforce``."""

    path: Path
    claims: list            # [{"id", "paper", "claim"}]
    enforce: bool = False

    @property
    def ids(self) -> list:
        return [c["id"] for c in self.claims]

    @classmethod
    def load(cls, path: Path, bib: Path | None = None) -> "Registry | None":
        """The registry at ``path`` or ``None`` if there is none; :class:`BookError` if invalid."""
        path = Path(path)
        if not path.is_file():
            return None
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise BookError(f"{path}: cannot read the claims registry: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
            raise BookError(f"{path}: expected a mapping with a list `claims:` and `enforce:`")
        enforce = data.get("enforce", False)
        if not isinstance(enforce, bool):
            raise BookError(f"{path}: `enforce` must be true or false, got {enforce!r}")
        keys = set()
        if bib is not None and Path(bib).is_file():
            keys = set(re.findall(r"@\w+\s*\{\s*([^,\s]+)\s*,", Path(bib).read_text("utf-8")))
        seen, claims = set(), []
        for i, c in enumerate(data["claims"]):
            where = f"{path}: claims[{i}]"
            if not isinstance(c, dict):
                raise BookError(f"{where} must be a mapping with id, paper, claim")
            for k in ("id", "paper", "claim"):
                if not isinstance(c.get(k), str) or not c[k].strip():
                    raise BookError(f"{where}: `{k}` must be a non-empty string, got {c.get(k)!r}")
            if c["id"] in seen:
                raise BookError(f"{where}: duplicate id {c['id']!r}")
            if keys and c["paper"] not in keys:
                raise BookError(f"{where}: paper {c['paper']!r} is not a key of {bib}")
            seen.add(c["id"])
            claims.append({"id": c["id"], "paper": c["paper"], "claim": " ".join(c["claim"].split())})
        return cls(path=path, claims=claims, enforce=enforce)


def read_paper_claims(path: Path) -> list:
    """The records of a chapter's ``paper_claims.json`` (``[]`` if absent).

    Raises ``ValueError`` if the file is unreadable or not a list of records with string
    ``id``, ``verdict`` (one of :data:`twophase.notebook.VERDICTS`), ``conditions``,
    ``evidence`` and a list of string ``checks``.
    """
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path.name} is not readable JSON ({exc})") from None
    if not isinstance(data, list):
        raise ValueError(f"{path.name} must hold a list, got {type(data).__name__}")
    for i, r in enumerate(data):
        if not isinstance(r, dict):
            raise ValueError(f"{path.name}[{i}] must be a record, got {r!r}")
        for k in ("id", "verdict", "conditions", "evidence"):
            if not isinstance(r.get(k), str):
                raise ValueError(f"{path.name}[{i}].{k} must be a string, got {r.get(k)!r}")
        if r["verdict"] not in _verdicts():
            raise ValueError(f"{path.name}[{i}].verdict {r['verdict']!r} is not one of"
                             f" {_verdicts()}")
        checks = r.get("checks", [])
        if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            raise ValueError(f"{path.name}[{i}].checks must be a list of claim keys")
    return data


@dataclass
class ClaimsSummary:
    """The assembled claims of one build."""

    records: list                       # one per (id, chapter); not-tested ids included
    problems: list = field(default_factory=list)   # each fails the build
    notes: list = field(default_factory=list)      # printed, do not fail
    registry: Registry | None = None
    complete: bool = False

    def json_records(self) -> list:
        return [{k: r.get(k) for k in _RECORD_KEYS} for r in self.records]


def check_anchor(chapter: str, key: str) -> str:
    """HTML id of claim check ``key`` of ``chapter`` on the report page."""
    return "check-" + re.sub(r"[^A-Za-z0-9_-]+", "-", f"{chapter}-{key}").strip("-").lower()


def claim_anchor(claim_id: str) -> str:
    """HTML id of paper claim ``claim_id``'s row on the claims page."""
    return "paper-claim-" + re.sub(r"[^A-Za-z0-9_-]+", "-", claim_id).strip("-").lower()


def assemble(chapters, registry: Registry | None) -> ClaimsSummary:
    """Collect every chapter's paper claims (``chapters``: the build's ChapterResults).

    A build is *complete* when every chapter of the table of contents ran or was reused in it
    (status ``ok`` or ``failed``).
    """
    complete = all(c.status in ("ok", "failed") for c in chapters)
    left_out = [c.chapter for c in chapters if c.status not in ("ok", "failed")]
    records, problems, notes = [], [], []
    known = {c["id"]: c for c in (registry.claims if registry else [])}
    for c in chapters:
        own_checks = {k.get("key") for k in c.claims}
        for r in getattr(c, "paper_claims", []) or []:
            rec = {k: r.get(k) for k in _RECORD_KEYS}
            rec["chapter"] = c.chapter
            rec["checks"] = list(r.get("checks") or [])
            rec["linked"] = c.status == "ok"
            if registry is not None and rec["id"] not in known:
                problems.append(f"chapter {c.chapter} records paper claim {rec['id']!r}, which"
                                f" is not in {registry.path.name}; add it there or fix the id")
            missing = [k for k in rec["checks"] if k not in own_checks]
            if missing and c.status == "ok":
                problems.append(f"paper claim {rec['id']!r} (chapter {c.chapter}) names checks"
                                f" {missing} that the chapter did not record with claim()")
            records.append(rec)
    if registry is not None:
        recorded = {r["id"] for r in records}
        untested = [i for i in registry.ids if i not in recorded]
        for i in untested:
            cond = ("no chapter records a verdict on it" if complete else
                    "not decided in this partial build (left out: " + ", ".join(left_out) + ")")
            records.append({"id": i, "verdict": NOT_TESTED, "conditions": cond, "chapter": None,
                            "evidence": None, "checks": [], "linked": False})
        if untested:
            msg = (f"{len(untested)} paper claim(s) of {registry.path.name} not tested by any"
                   f" chapter: {', '.join(untested)}")
            if complete and registry.enforce:
                problems.append(msg)
            elif complete:
                notes.append(msg + " (not enforced: `enforce: false` in the registry)")
            else:
                notes.append(f"partial build: {len(untested)} paper claim(s) not decided here"
                             " (the chapters left out may decide them); not a failure")
        order = {i: n for n, i in enumerate(registry.ids)}
        records.sort(key=lambda r: (order.get(r["id"], len(order)), r["chapter"] or ""))
        for r in records:
            reg = known.get(r["id"], {})
            r["paper"], r["claim"] = reg.get("paper"), reg.get("claim")
    return ClaimsSummary(records=records, problems=problems, notes=notes, registry=registry,
                         complete=complete)


def _esc(text) -> str:
    """Escape text for a Markdown table cell / paragraph (no markup, no math, no roles)."""
    text = " ".join(str(text).split())
    return re.sub(r"([\\`*_{}\[\]<>|$~#])", r"\\\1", text)


def _cell(text) -> str:
    """MyST markdown of a record's own text (conditions may hold math) made safe for a cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _evidence(r) -> str:
    parts = []
    if r.get("evidence"):
        parts.append(f"{{ref}}`{r['evidence']}`" if r.get("linked") else _esc(r["evidence"]))
    if r.get("chapter"):
        parts.append(f"chapter {{doc}}`{r['chapter']} <{r['chapter']}>`" if r.get("linked")
                     else f"chapter {_esc(r['chapter'])}")
    checks = [f'<a href="report.html#{check_anchor(r["chapter"], k)}"><code>{_html(k)}</code></a>'
              for k in r.get("checks", [])]
    if checks:
        parts.append("checks: " + ", ".join(checks))
    return "; ".join(parts) or "-"


def _html(text) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "&#124;"))


def _counts(summary: ClaimsSummary) -> dict:
    counts = {v: 0 for v in VERDICT_ORDER}
    for r in summary.records:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    return counts


def claims_page(summary: ClaimsSummary, profile: str) -> str:
    """The page ``book/claims.md`` (MyST markdown) of the staged site."""
    reg = summary.registry
    lines = ["(paper-claims)=", "# The papers' claims and the book's verdicts", "",
             "One row per claim of the two papers. The verdicts are not typed into this page:"
             " each chapter computes the verdict and its conditions from its own data when it"
             " runs (`twophase.notebook.paper_claim`), and `python -m twophase.book build`"
             f" assembles them (this build: profile `{_esc(profile)}`). The claims are"
             " paraphrased in the book's own words; the evidence column links the figure or"
             " section of the chapter and the checks that decide the verdict, listed in the"
             " [execution report](report.md).", ""]
    if reg is None:
        lines += ["No claims registry (`book/paper_claims.yml`) exists, so only the claims the"
                  " chapters recorded are listed.", ""]
    counts = _counts(summary)
    lines += ["| verdict | claims |", "|---|---:|"]
    lines += [f"| {v} | {n} |" for v, n in counts.items() if n or v != NOT_TESTED]
    lines += [""]
    if not summary.records:
        lines += ["No chapter recorded a verdict on a paper claim in this build.", ""]
        return "\n".join(lines)
    lines += ["| id | the paper's claim | verdict | conditions | evidence |",
              "|---|---|---|---|---|"]
    for r in summary.records:
        claim = _esc(r.get("claim") or "(not in the registry)")
        if r.get("paper"):
            claim += f" {{cite}}`{r['paper']}`"
        verdict = r["verdict"] if r["verdict"] != NOT_TESTED else f"**{NOT_TESTED}**"
        anchor = f'<span id="{claim_anchor(r["id"])}"></span>'
        lines.append(f"| {anchor}{_esc(r['id'])} | {claim} | {verdict} | {_cell(r.get('conditions') or '-')}"
                     f" | {_evidence(r)} |")
    lines.append("")
    if summary.problems:
        lines += ["```{admonition} Problems in this build", ":class: error"]
        lines += [f"- {_esc(p)}" for p in summary.problems] + ["```", ""]
    if not summary.complete:
        lines += ["This build did not run every chapter, so claims left to the chapters it did"
                  " not include are shown as *not tested*.", ""]
    return "\n".join(lines)


def intro_summary(summary: ClaimsSummary) -> str:
    """The short summary for the intro page: counts, then one line per claim."""
    counts = _counts(summary)
    lines = ["| verdict | claims |", "|---|---:|"]
    lines += [f"| {v} | {n} |" for v, n in counts.items() if n or v != NOT_TESTED]
    lines += ["", "Claim by claim (details, conditions and evidence on the"
              " [claims page](claims.md)):", ""]
    if not summary.records:
        lines.append("- no claim was decided in this build")
    for r in summary.records:
        where = f" ({_esc(r['chapter'])})" if r.get("chapter") else ""
        lines.append(f"- {_esc(r['id'])}: **{r['verdict']}**{where}")
    return "\n".join(lines) + "\n"
