"""sycolab: measure and reduce sycophancy in large language models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AuditResult", "EvalResult", "__version__", "audit", "evaluate", "rescore"]

if TYPE_CHECKING:
    from sycolab.evaluation.api import EvalResult, evaluate
    from sycolab.evaluation.audit_run import AuditResult, audit
    from sycolab.evaluation.rescore import rescore

_LAZY = {"evaluate": "api", "EvalResult": "api", "rescore": "rescore", "audit": "audit_run",
         "AuditResult": "audit_run"}


def __getattr__(name: str) -> Any:
    # Lazy: `import sycolab` stays light; the evaluation stack loads on first use.
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"sycolab.evaluation.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(name)
