"""Small modules with one job: none over 500 lines unless its docstring says why it is one unit
(a module docstring containing "one unit")."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "sycolab"
LIMIT = 500


def test_no_module_over_the_limit_without_a_reason() -> None:
    too_long = []
    for path in sorted(SRC.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        n = text.count("\n")
        if n > LIMIT and "one unit" not in (ast.get_docstring(ast.parse(text)) or ""):
            too_long.append(f"{path.relative_to(SRC)}: {n} lines")
    assert not too_long, "modules over 500 lines without a stated reason:\n" + "\n".join(too_long)
