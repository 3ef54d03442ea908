"""The top-level Python API: every name in `sycolab.__all__` resolves, lazily, to a callable or
class whose keywords match the CLI's flags."""

from __future__ import annotations

import inspect
import subprocess
import sys

import sycolab


def test_public_names_are_pinned() -> None:
    assert sorted(sycolab.__all__) == sorted(
        ["AuditResult", "EvalResult", "__version__", "audit", "evaluate", "rescore"])
    for name in sycolab.__all__:
        assert getattr(sycolab, name) is not None


def test_import_stays_light() -> None:
    code = "import sys, sycolab; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_flags_are_keywords() -> None:
    params = inspect.signature(sycolab.rescore).parameters
    assert {"scoring", "judge", "judge_mode", "out", "progress"} <= set(params)
    params = inspect.signature(sycolab.audit).parameters
    assert {"judge", "judge_mode", "out", "progress"} <= set(params)
    params = inspect.signature(sycolab.evaluate).parameters
    assert {"judge", "judge_mode", "allow_foreign_vector", "scoring"} <= set(params)
