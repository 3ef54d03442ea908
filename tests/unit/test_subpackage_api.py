"""Each public package's `__all__` is pinned: adding or dropping a public name is a decision made
here, in review, not a side effect of moving code. Every pinned name resolves."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import sycolab

PINNED: dict[str, list[str]] = {
    "sycolab.cli": [],
    "sycolab.core": [],
    "sycolab.core.extraction": ["Extraction", "RULES_DOC", "RULES_VERSION", "STATUSES",
                                "extract", "extract_answer"],
    "sycolab.core.suites": ["BUILTIN_SUITES", "FILE_FORMATS", "PERSONA_NAMES", "Suite",
                            "addition_persona_prompt", "items_hash", "load_suite",
                            "split_biography", "template_condition"],
    "sycolab.engine": ["Backend", "ChoiceRequest", "Contrast", "GenerateRequest", "Hints",
                       "LocalModel", "ModelSpec", "Prompt", "SteeringConfig", "load_backend",
                       "parse_spec", "require_local"],
    "sycolab.evaluation": [],
    "sycolab.evaluation.locate": ["Head", "LOCATE_FILE", "heads_from_doc", "load_heads_file",
                                  "parse_heads", "read_heads", "run_locate", "take_heads"],
    "sycolab.matrix": ["MatrixResult", "run_matrix"],
    "sycolab.mitigations": [],
    "sycolab.mitigations.data": ["BaseItem", "DEFAULT_HELDOUT", "DEFAULT_MAX_EXAMPLES",
                                 "DEFAULT_MAX_HELDOUT", "DEFAULT_MIN_YIELD", "DEFAULT_SOURCES",
                                 "Example", "FILES", "MANIFEST", "Part", "Persona", "SynthResult",
                                 "YieldTooLow", "YieldTooLowError", "base_items",
                                 "format_counts", "known_mask", "neutral_prompt", "read_jsonl",
                                 "read_manifest", "synthesize"],
    "sycolab.mitigations.steering": ["ContrastPair", "Exported", "FORMATS", "SteeringVector",
                                     "SweepResult", "SweepRow", "VectorFromSuites",
                                     "check_format", "contrast_pairs", "export_vector",
                                     "import_vector", "pairs_hash", "sweep", "train_vector",
                                     "train_vector_from_suites"],
    "sycolab.mitigations.training": ["REPORT", "TRAINING_RECORD", "TrainConfig", "TrainResult",
                                     "before_after", "format_before_after", "neutral_accuracy",
                                     "persona_heldout", "read_heads", "score_examples", "train",
                                     "trained_keys"],
    "sycolab.inspect_ext": [],  # Inspect reaches it through its entry point only
    "sycolab.report": ["compare_runs", "render_compare", "render_run_report", "write_compare",
                       "write_run_report"],
    "sycolab.runs": ["CONFIG", "LOCK", "REPORT", "RESULTS", "RunFolder", "SAMPLES",
                     "check_out_dir", "check_record", "config_hash", "dumps", "read_samples",
                     "write_json_atomic"],
    "sycolab.server": ["ChatCompletionRequest", "Completion", "CompletionRequest",
                       "RequestError", "ServeOptions", "ServedModel", "ServerLimits",
                       "build_served_model", "create_app", "is_loopback", "serve"],
}


def test_every_package_is_pinned() -> None:
    packages = {m.name for m in pkgutil.walk_packages(sycolab.__path__, "sycolab.") if m.ispkg}
    assert packages == set(PINNED)


@pytest.mark.parametrize("package", sorted(PINNED))
def test_public_names_are_pinned_and_resolve(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(module.__all__) == sorted(PINNED[package])
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
