"""Suites: built-in generated suites and loaders for public benchmark files (torch-free)."""

from sycolab.core.suites._registry import BUILTIN_SUITES, FILE_FORMATS, load_suite
from sycolab.core.suites._suite import Suite, items_hash
from sycolab.core.suites.addition import PERSONA_NAMES, addition_persona_prompt
from sycolab.core.suites.perez import split_biography
from sycolab.core.suites.sycophancy_eval import template_condition

__all__ = [
    "BUILTIN_SUITES",
    "FILE_FORMATS",
    "PERSONA_NAMES",
    "Suite",
    "addition_persona_prompt",
    "items_hash",
    "load_suite",
    "split_biography",
    "template_condition",
]
