"""The package's layers (issue #14): every import of every module under src/sycolab, module-level,
function-local and under TYPE_CHECKING alike, read with `ast`.

Layers, low to high (a module imports only from lower layers or its own package):
  sycolab.paths, sycolab.core  <  sycolab.runs  <  sycolab.engine  <  sycolab.evaluation
  <  sycolab.mitigations  <  sycolab.report  <  sycolab.matrix, sycolab.server,
     sycolab.inspect_ext
  <  top-level modules (sycolab, sycolab.workflows)  <  sycolab.cli  <  sycolab.__main__
sycolab.report reads run folders only: it imports neither evaluation, engine nor mitigations.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sycolab

SRC = Path(sycolab.__file__).parent
RANK = {
    "sycolab.paths": 0, "sycolab.core": 0, "sycolab.runs": 1, "sycolab.engine": 2,
    "sycolab.evaluation": 3, "sycolab.mitigations": 4, "sycolab.report": 5, "sycolab.matrix": 6,
    "sycolab.server": 6, "sycolab.inspect_ext": 6, "sycolab": 7, "sycolab.cli": 8,
    "sycolab.__main__": 9,
}
BASE = {"sycolab.paths", "sycolab.core"}  # one layer: they may import each other
FORBIDDEN = {"sycolab.report": {"sycolab.evaluation", "sycolab.engine", "sycolab.mitigations"}}
TORCH_FREE = ("sycolab.paths", "sycolab.core", "sycolab.runs")
HEAVY = {"torch", "transformers", "peft", "trl", "accelerate"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ["sycolab", *path.relative_to(SRC).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module `name` imports (any depth in the file); a package's name for its
    re-exported attributes, the submodule for ``from package import submodule``."""
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".")
                pkg = pkg if is_pkg else pkg[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join([*pkg, base] if base else pkg)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return found


GRAPH = {name: {m for m in _imports(name, path) if m != name} for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or (module in MODULES and MODULES[module].parent == SRC \
            and MODULES[module].name != "__init__.py"):
        return module if module in RANK else "sycolab"
    return ".".join(parts[:2])


def test_every_module_belongs_to_a_layer() -> None:
    assert {_layer(m) for m in MODULES} <= set(RANK)


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH.get(v, ()):
            if w not in MODULES:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                cycles.append(sorted(scc))

    for v in sorted(MODULES):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_layer_order() -> None:
    bad = []
    for src, targets in GRAPH.items():
        here = _layer(src)
        for target in targets:
            if not target.startswith("sycolab") or target not in MODULES:
                continue
            there = _layer(target)
            if there == here or {here, there} <= BASE:
                continue
            if RANK[there] >= RANK[here] or there in FORBIDDEN.get(here, ()):
                bad.append(f"{src} -> {target}")
    assert not bad, bad


def test_lower_layers_are_torch_free() -> None:
    bad = [f"{m} -> {t}" for m, targets in GRAPH.items() if m.startswith(TORCH_FREE)
           for t in targets if t.split(".")[0] in HEAVY]
    assert not bad, bad


def test_the_finder_sees_local_and_type_checking_imports() -> None:
    # the graph is only as good as its reader: a lazy import and a TYPE_CHECKING one both count
    assert "sycolab.workflows" in GRAPH["sycolab"]
    assert "sycolab.workflows" in GRAPH["sycolab.cli.eval_cmd"]
