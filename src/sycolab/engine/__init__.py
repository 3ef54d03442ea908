"""Model backends: the `Backend` interface (torch-free), the `LocalModel` contract of local
transformers models, model specs, and their implementations.

The names below load lazily, so ``import sycolab.engine`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sycolab.engine.base import (
        Backend,
        ChoiceRequest,
        Contrast,
        GenerateRequest,
        Hints,
        Prompt,
        SteeringConfig,
    )
    from sycolab.engine.local_model import LocalModel, require_local
    from sycolab.engine.model_spec import ModelSpec, parse_spec
    from sycolab.engine.spec import load_backend

_HOMES = {
    "Backend": "base", "ChoiceRequest": "base", "Contrast": "base", "GenerateRequest": "base",
    "Hints": "base", "Prompt": "base", "SteeringConfig": "base",
    "LocalModel": "local_model", "require_local": "local_model",
    "ModelSpec": "model_spec", "parse_spec": "model_spec", "load_backend": "spec",
}
__all__ = ["Backend", "ChoiceRequest", "Contrast", "GenerateRequest", "Hints", "LocalModel",
           "ModelSpec", "Prompt", "SteeringConfig", "load_backend", "parse_spec", "require_local"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"sycolab.engine.{_HOMES[name]}"), name)
    raise AttributeError(name)
