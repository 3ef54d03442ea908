"""sycolab: measure and reduce sycophancy in large language models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["EvalResult", "__version__", "evaluate"]

if TYPE_CHECKING:
    from sycolab.evaluation.api import EvalResult, evaluate


def __getattr__(name: str) -> Any:
    # Lazy: `import sycolab` stays light; the evaluation stack loads on first use.
    if name in ("evaluate", "EvalResult"):
        from sycolab.evaluation import api

        return getattr(api, name)
    raise AttributeError(name)
