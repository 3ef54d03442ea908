"""`sycolab matrix CONFIG.yaml`: every mitigation and combination on the same test items;
`sycolab matrix-diff OLD NEW` compares two matrix folders; `sycolab matrix-readme MATRIX_DIR`
pastes a folder's matrix.md into the README."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded
from sycolab.cli.output import Json, Output, Quiet


def register(app: typer.Typer) -> None:
    app.command("matrix")(matrix_command)
    app.command("matrix-diff")(matrix_diff_command)
    app.command("matrix-readme")(matrix_readme_command)


def matrix_command(
    config: Annotated[Path, typer.Argument(help="matrix YAML file")],
    out: Annotated[Path | None, typer.Option(help="output folder (default matrix/<config-hash>)")]
    = None,
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    quiet: Quiet = False,
    json: Json = False,
) -> None:
    """Train what the arms need, choose settings on validation, report every arm on test.

    With --json: the folder, its files, the summary, the best prompt baseline and every arm's
    groups with their metrics ({value, ci_low, ci_high, n}); the paired tests are in
    matrix.json.
    """
    output = Output(quiet=quiet, json=json)

    def go() -> tuple[Path, dict[str, Any]]:
        from sycolab.matrix.pipeline import run_matrix

        result = run_matrix(config, out=out, progress=output.progress(progress))
        return result.folder, result.table

    folder, table = output.run(go)
    output.emit({"command": "matrix", "folder": str(folder),
                 "files": {ext: str(folder / f"matrix.{ext}")
                           for ext in ("md", "json", "csv", "html")},
                 "summary": table.get("summary"),
                 "best_prompt_baseline": table.get("best_prompt_baseline"),
                 "arms": table.get("arms"), "n_tests": len(table.get("tests") or [])})
    output.echo((folder / "matrix.md").read_text(encoding="utf-8"))
    output.echo(f"matrix folder: {folder}")


def matrix_diff_command(
    old: Annotated[Path, typer.Argument(help="the reference matrix folder")],
    new: Annotated[Path, typer.Argument(help="the matrix folder to check against it")],
) -> None:
    """Every arm x group x metric of OLD and NEW side by side; exit 1 when a value of NEW lies
    outside OLD's 95% interval (or OLD has it and NEW lacks it), 0 otherwise."""

    def go() -> tuple[int, list[str]]:
        from sycolab.matrix.diff import diff_folders

        result = diff_folders(old, new)
        return result.flagged, result.lines()

    flagged, lines = run_guarded(go)
    typer.echo("\n".join(lines))
    if flagged:
        raise typer.Exit(1)


def matrix_readme_command(
    matrix_dir: Annotated[Path, typer.Argument(help="a matrix folder (holds matrix.md)")],
    readme: Annotated[Path, typer.Option(help="the file with the matrix.md markers")]
    = Path("README.md"),
) -> None:
    """Paste MATRIX_DIR/matrix.md between the README's `<!-- matrix.md begin/end -->` markers."""

    def go() -> bool:
        from sycolab.matrix.readme import update_readme

        return update_readme(matrix_dir, readme)

    changed = run_guarded(go)
    typer.echo(f"{readme}: {'updated from' if changed else 'already equals'} "
               f"{matrix_dir / 'matrix.md'}")
