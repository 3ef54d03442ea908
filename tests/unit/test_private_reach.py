"""Outside `engine/`, code talks to objects only through their public members.

A private member (`obj._name`) or a private name imported from another subpackage is an
undeclared contract: it breaks silently when its owner changes. The engine's own modules share
internals freely; everyone else uses `LocalModel`, `Backend` and the other public types.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sycolab"
TESTS = Path(__file__).resolve().parents[1]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _reaches(path: Path, own_package: str | None) -> list[str]:
    """Private attribute reads of objects other than self/cls, and private names imported from
    outside `own_package` (None: any private import counts)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "getattr", "hasattr", "setattr") and len(node.args) > 1:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and _is_private(
                    name.value):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "sycolab"):
            inside = own_package is not None and (
                node.module == own_package or node.module.startswith(own_package + "."))
            if inside:
                continue
            found += [f"{path.name}:{node.lineno}: from {node.module} import {a.name}"
                      for a in node.names if _is_private(a.name)]
    return found


def _subpackage(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = rel.parts
    return ".".join(parts[:2]) if len(parts) > 2 else ".".join(parts[:-1] or parts)


def test_no_private_reach_outside_the_engine() -> None:
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if path.relative_to(SRC).parts[0] == "engine":
            continue
        offenders += [f"{path.relative_to(SRC).parent}/{hit}"
                      for hit in _reaches(path, _subpackage(path))]
    assert not offenders, "private members reached from outside their owner:\n" + "\n".join(
        offenders)


def test_tests_use_public_members_only() -> None:
    offenders: list[str] = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == Path(__file__).name:
            continue
        offenders += _reaches(path, None)
    assert not offenders, "tests reach private members:\n" + "\n".join(offenders)


def test_the_checker_sees_a_reach_in(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from sycolab.engine.greedy import _Row\n"
                      "def f(backend):\n    return backend._pad_id, getattr(backend, '_x')\n"
                      "class A:\n    def g(self):\n        return self._ok\n")
    hits = _reaches(sample, "sycolab.server")
    assert len(hits) == 3, hits
