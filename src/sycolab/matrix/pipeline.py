"""`run_matrix`: load a matrix config, run every arm, summarize and write the report.

`sycolab matrix CONFIG.yaml` is a thin layer over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sycolab.matrix.config import MatrixConfig, load_config
from sycolab.matrix.report import write_matrix_report
from sycolab.matrix.run import Log, MatrixRun, config_key
from sycolab.matrix.summary import summarize


@dataclass
class MatrixResult:
    """The matrix folder, the run state (chosen settings, test runs) and the summary table."""

    folder: Path
    state: dict[str, Any]
    table: dict[str, Any]

    @property
    def markdown_path(self) -> Path:
        return self.folder / "matrix.md"


def run_matrix(
    config: str | Path | MatrixConfig,
    *,
    out: str | Path | None = None,
    progress: bool = True,
    log: Log | None = None,
) -> MatrixResult:
    """Train what the arms need, choose settings on validation, report every arm on test.

    `config` is a matrix YAML file or a loaded `MatrixConfig`; `out` defaults to
    ``matrix/<config-hash>``; `log` receives one line per step (default: the `sycolab.matrix`
    logger at INFO, which the CLI shows on stderr). Writes
    matrix.{json,md,csv,html} in the folder; one-line `UserInputError` for a bad config.
    """
    cfg = config if isinstance(config, MatrixConfig) else load_config(Path(config))
    folder = Path(out) if out is not None else Path("matrix") / config_key(cfg)
    run = MatrixRun(cfg, folder, progress=progress) if log is None else MatrixRun(
        cfg, folder, log=log, progress=progress)
    state = run.run()
    table = summarize(cfg, state, folder)
    write_matrix_report(table, folder)
    return MatrixResult(folder, state, table)
