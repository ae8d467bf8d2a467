"""Chapter shape (issue 8): each checked chapter reads as prose with short cells.

For every chapter in :data:`CHECKED` this compares, from the MyST source, the number of non-blank
code lines inside ``{code-cell}`` blocks with the number of non-blank prose lines outside them (front
matter excluded), and the length of the longest cell. Cell option lines (``:tags: ...``) and the
fences are not code. The cell tagged ``parameters`` counts as code but not towards the longest
cell: it holds one parameter per line (papermill reads it line by line), each with its meaning,
and however many parameters a chapter has they must sit in that one cell.
"""
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
CHECKED = {"01_sgd", "02_lookahead", "03_diloco", "04_momentum", "05_local_method", "06_local_checks",
           "07_neural_network", "08_scaled_high_dimension"}
MAX_CELL = 25


def shape(text: str):
    """``(code_lines, prose_lines, longest_cell)`` of a MyST notebook's text."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        lines = lines[end + 1:]
    code = prose = longest = 0
    cell, params = None, False
    for line in lines:
        if cell is None:
            if line.startswith("```{code-cell}"):
                cell, params = 0, False
            elif line.strip():
                prose += 1
        elif line.startswith("```"):
            longest = longest if params else max(longest, cell)
            cell = None
        elif line.startswith(":tags:") and "parameters" in line:
            params = True
        elif line.strip() and not line.startswith(":"):
            cell += 1
            code += 1
    return code, prose, longest


def test_shape_counts_a_small_example():
    text = "---\nk: v\n---\n# T\n\nprose\n```{code-cell} ipython3\n:tags: [x]\na = 1\n\nb = 2\n```\nmore\n"
    assert shape(text) == (2, 3, 2)
    params = "```{code-cell} ipython3\n:tags: [parameters]\na = 1\nb = 2\nc = 3\n```\n"
    assert shape(params + text[13:]) == (5, 3, 2)


@pytest.mark.parametrize("chapter", sorted(CHECKED))
def test_chapter_is_prose_first(chapter):
    code, prose, longest = shape((BOOK / f"{chapter}.md").read_text())
    assert longest <= MAX_CELL, f"{chapter}: a code cell has {longest} lines (max {MAX_CELL})"
    assert code <= prose, f"{chapter}: {code} code lines > {prose} prose lines"


MAX_WIDTH = 88  # characters per code line: the column shows 88 without a sideways scroll

def long_code_lines(text: str, width: int = MAX_WIDTH) -> list:
    """``(line number, length)`` of every code-cell line longer than ``width``."""
    out, inside = [], False
    for i, line in enumerate(text.splitlines(), 1):
        if line.startswith("```{code-cell}"):
            inside = True
        elif inside and line.startswith("```"):
            inside = False
        elif inside and len(line) > width:
            out.append((i, len(line)))
    return out


def test_long_code_lines_are_found():
    text = "p\n```{code-cell} ipython3\n" + "x" * 89 + "\n" + "y" * 88 + "\n```\n" + "z" * 100 + "\n"
    assert long_code_lines(text) == [(3, 89)]


@pytest.mark.parametrize("chapter", sorted(CHECKED))
def test_code_fits_the_column(chapter):
    bad = long_code_lines((BOOK / f"{chapter}.md").read_text())
    assert not bad, f"{chapter}: code lines longer than {MAX_WIDTH} characters at (line, length) {bad}"
