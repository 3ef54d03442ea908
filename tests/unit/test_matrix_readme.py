"""The README's matrix table is a verbatim copy of the committed example run's matrix.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from sycolab.matrix.readme import readme_block

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "matrix-smollm2" / "matrix.md"


def test_readme_matrix_block_is_the_example_run() -> None:
    block = readme_block((ROOT / "README.md").read_text(encoding="utf-8"), "README.md")
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE.relative_to(ROOT)} is not committed yet (the example run "
                    "`sycolab matrix examples/matrix-smollm2.yaml` at HEAD will add it)")
    assert block == EXAMPLE.read_text(encoding="utf-8"), (
        "README.md's matrix block differs from examples/matrix-smollm2/matrix.md; refresh it "
        "with `sycolab matrix-readme examples/matrix-smollm2` (pastes the file between the "
        "`<!-- matrix.md begin -->` and `<!-- matrix.md end -->` markers)")
