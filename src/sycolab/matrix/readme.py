"""The README's matrix table: a verbatim copy of a matrix folder's matrix.md between two markers
(`sycolab matrix-readme MATRIX_DIR` refreshes it; a unit test compares it with the committed
example run)."""

from __future__ import annotations

from pathlib import Path

from sycolab.core.errors import UserInputError

BEGIN = "<!-- matrix.md begin -->"
END = "<!-- matrix.md end -->"


def _bounds(text: str, where: str) -> tuple[int, int]:
    start, end = text.find(BEGIN + "\n"), text.find(END)
    if start < 0 or end < 0 or end < start:
        raise UserInputError(f"{where}: no block between '{BEGIN}' and '{END}' (each on its "
                             "own line)")
    return start + len(BEGIN) + 1, end


def readme_block(text: str, where: str = "README") -> str:
    """The text between the markers (what matrix.md must equal)."""
    start, end = _bounds(text, where)
    return text[start:end]


def replace_block(text: str, markdown: str, where: str = "README") -> str:
    """`text` with the block between the markers replaced by `markdown`."""
    start, end = _bounds(text, where)
    return text[:start] + markdown.rstrip("\n") + "\n" + text[end:]


def update_readme(matrix_dir: Path, readme: Path) -> bool:
    """Paste MATRIX_DIR/matrix.md into README; True when the README changed."""
    source = Path(matrix_dir) / "matrix.md"
    try:
        markdown = source.read_text(encoding="utf-8")
        text = readme.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserInputError(f"{exc.filename}: file not found") from None
    updated = replace_block(text, markdown, str(readme))
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text
