"""The public workflows: an evaluation, a re-scoring or an audit, then its HTML report.

`sycolab.evaluation` runs and finishes a run folder without rendering; this module, above both
evaluation and report, adds ``report.html`` (or ``audit.html``). `sycolab.evaluate`,
`sycolab.rescore`, `sycolab.audit` and the CLI commands eval, rescore and audit call these.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec

from sycolab.evaluation import api, audit_run
from sycolab.evaluation import rescore as rescoring
from sycolab.evaluation.api import EvalResult
from sycolab.evaluation.audit_run import AuditResult
from sycolab.report.audit_html import write_audit_html
from sycolab.report.run_report import write_run_report

__all__ = ["AuditResult", "EvalResult", "audit", "evaluate", "rescore"]

P = ParamSpec("P")


def _with_run_report(run: Callable[P, EvalResult]) -> Callable[P, EvalResult]:
    """`run`, then report.html in the run folder it wrote (same signature)."""

    name, module = run.__name__, run.__module__

    @functools.wraps(run)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> EvalResult:
        # looked up per call, so a replaced `sycolab.evaluation.api.evaluate` is what runs
        current: Callable[P, EvalResult] = getattr(sys.modules[module], name)
        result = current(*args, **kwargs)
        write_run_report(result.run_dir)
        return result

    wrapper.__doc__ = (run.__doc__ or "").rstrip() + "\n\n    Then writes report.html there.\n"
    wrapper.__module__ = __name__
    return wrapper


def _with_audit_html(run: Callable[P, AuditResult]) -> Callable[P, AuditResult]:
    """`run`, then audit.html beside its audit.jsonl (same signature)."""

    @functools.wraps(run)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> AuditResult:
        result = run(*args, **kwargs)
        write_audit_html(result.out / "audit.html", result.summary, result.rows, result.labelled)
        return result

    wrapper.__doc__ = (run.__doc__ or "").rstrip() + "\n\n    Then writes audit.html there.\n"
    wrapper.__module__ = __name__
    return wrapper


evaluate = _with_run_report(api.evaluate)
rescore = _with_run_report(rescoring.rescore)
audit = _with_audit_html(audit_run.audit)
