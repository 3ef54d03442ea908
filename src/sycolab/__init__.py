"""sycolab: measure and reduce sycophancy in large language models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["AuditResult", "EvalResult", "__version__", "audit", "evaluate", "rescore"]

if TYPE_CHECKING:
    from sycolab.workflows import AuditResult, EvalResult, audit, evaluate, rescore

_LAZY = frozenset({"evaluate", "EvalResult", "rescore", "audit", "AuditResult"})


def __getattr__(name: str) -> Any:
    # Lazy: `import sycolab` stays light; the evaluation stack loads on first use.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module("sycolab.workflows"), name)
    raise AttributeError(name)
