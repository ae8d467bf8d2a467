"""The package's shape: lazy submodules (PEP 562), an acyclic import graph whose Part I edges
all point down the layers, no module-level ``__getattr__`` re-exports, and one home per name.

Run ``python tests/test_package.py`` to print the import graph and its topological order.
"""
import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib" / "twophase"

#: Layers of the Part I numerics, lowest first: a module may import only from lower layers.
LAYERS = {
    "twophase._validate": 0, "twophase.parallel": 0.5,
    "twophase.methods": 1, "twophase.spectra": 1,
    "twophase._base": 2,
    "twophase.engine": 3,
    "twophase.operators": 4, "twophase.momentum": 4, "twophase.simulate": 4, "twophase.summaries": 4,
    "twophase.reference": 4,
    "twophase.theory": 5,
    "twophase.sweeps": 6, "twophase.bench": 6, "twophase.scaled": 6,
}
#: Packages above the numerics: they may import any of the layers but none of them imports these.
UPPER = ("twophase.experiments", "twophase.plotting", "twophase.notebook", "twophase.book", "twophase.local")


def module_name(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict:
    """``{module: set of twophase modules it imports}``, from every import statement (also inside functions)."""
    files = {module_name(p): p for p in LIB.rglob("*.py")}
    graph = {m: set() for m in files}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(mod, is_pkg, node)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if t.startswith("twophase") and t != mod:
                    graph[mod].add(t)
    return graph


def topological_order(graph: dict) -> list:
    """Modules with their imports first; raises ValueError naming a cycle if there is one."""
    order, state = [], {}

    def visit(m, stack):
        if state.get(m) == "done":
            return
        if state.get(m) == "open":
            raise ValueError("import cycle: " + " -> ".join(stack[stack.index(m):] + [m]))
        state[m] = "open"
        for d in sorted(graph[m]):
            visit(d, stack + [m])
        state[m] = "done"
        order.append(m)

    for m in sorted(graph):
        visit(m, [])
    return order


def test_import_graph_is_acyclic():
    order = topological_order(import_graph())
    assert "twophase.engine" in order and order.index("twophase._base") < order.index("twophase.engine")


def test_topological_order_detects_a_cycle():
    with pytest.raises(ValueError, match="import cycle: a -> b -> a"):
        topological_order({"a": {"b"}, "b": {"a"}})


def test_part1_imports_run_down_the_layers():
    graph = import_graph()
    bad = []
    for mod, deps in graph.items():
        if mod not in LAYERS:
            continue
        for d in deps:
            if d == "twophase":  # the package itself (version string) is not a layer
                continue
            if d.startswith(UPPER) or d not in LAYERS or LAYERS[d] >= LAYERS[mod]:
                bad.append(f"{mod} (layer {LAYERS[mod]}) imports {d} (layer {LAYERS.get(d, 'upper')})")
    assert not bad, "\n".join(bad)
    missing = {module_name(p) for p in LIB.glob("*.py")} - set(LAYERS) - {"twophase", "twophase.notebook"}
    assert not missing, f"modules without a layer: {missing}"


def test_no_module_level_getattr_besides_the_package():
    with_getattr = []
    for path in LIB.rglob("*.py"):
        tree = ast.parse(path.read_text())
        if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
            with_getattr.append(module_name(path))
    assert with_getattr == ["twophase"], with_getattr


def test_lazy_submodules_in_a_fresh_interpreter():
    """``import twophase`` imports no numerics beyond methods; attributes import on first use."""
    code = (
        "import sys, twophase as tp\n"
        "assert 'twophase.theory' not in sys.modules and 'twophase.local' not in sys.modules\n"
        "lam = tp.spectra.power_law(10)\n"
        "L = tp.theory.expected_loss(tp.SGD(0.5), lam, tp.spectra.initial_moments(lam), 3)\n"
        "C = tp.simulate.loss_curves(tp.SGD(0.5), lam, tp.spectra.initial_moments(lam), 3, 2)\n"
        "assert L.shape == (4,) and C.shape == (2, 4)\n"
        "assert tp.local.run_local is not None and 'spectra' in dir(tp)\n"
        "try:\n    tp.no_such_module\nexcept AttributeError as e:\n    assert 'no_such_module' in str(e)\n"
        "else:\n    raise SystemExit('no AttributeError')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_every_public_name_has_one_home():
    """A public function or class listed in two modules' ``__all__`` is defined in one of them and the
    other is the documented face (``twophase.theory``) or the package itself."""
    import twophase

    homes = {}
    for mod in sorted(LAYERS):
        m = importlib.import_module(mod)
        for name in getattr(m, "__all__", ()):
            obj = getattr(m, name)
            if callable(obj):
                homes.setdefault(id(obj), []).append((mod, name, obj))
    faces = {"twophase.theory"}
    for entries in homes.values():
        listed = {mod for mod, _, _ in entries}
        home = entries[0][2].__module__
        assert home in listed or listed <= faces, entries
        assert listed - {home} <= faces, f"{entries[0][1]} listed in {sorted(listed)}, home {home}"
    assert twophase.TwoPhase.__module__ == "twophase.methods"


if __name__ == "__main__":
    g = import_graph()
    for m in topological_order(g):
        print(f"{m:32s} <- {', '.join(sorted(g[m])) or '-'}")
    print("acyclic: yes")
