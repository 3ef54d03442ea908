"""The mitigation matrix: every method and combination on the same test items (`sycolab matrix`)."""

from sycolab.matrix.pipeline import MatrixResult, run_matrix

__all__ = ["MatrixResult", "run_matrix"]
