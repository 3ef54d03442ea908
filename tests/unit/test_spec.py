"""`parse_spec` and the backend registry: one parser for every model spec."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sycolab.core.errors import UserInputError
from sycolab.engine import spec
from sycolab.engine.spec import (
    BACKENDS,
    LoadOptions,
    ModelSpec,
    is_local,
    load_backend,
    parse_spec,
    spec_kind,
)


@pytest.mark.parametrize(("text", "kind", "target", "local"), [
    ("smollm2", "smollm2", "", True),
    ("hf:./m", "hf", "./m", True),
    ("hf:", "hf", "", True),
    ("openai:gpt@http://x/v1", "openai", "gpt@http://x/v1", False),
    ("mock:sycophant?follow=1", "mock", "sycophant?follow=1", False),
])
def test_parse(text: str, kind: str, target: str, local: bool) -> None:
    parsed = parse_spec(text)
    assert parsed == ModelSpec(kind, target, text)  # type: ignore[arg-type]
    assert parsed.local is local and is_local(text) is local and spec_kind(text) == kind


@pytest.mark.parametrize("text", ["smollm2:x", "hf", "gpt-4", "", "HF:x", "local:x"])
def test_unknown_forms(text: str) -> None:
    assert spec_kind(text) is None and not is_local(text)
    with pytest.raises(UserInputError) as err:
        parse_spec(text, "--judge")
    assert err.value.cli_message() == (
        f"--judge: unknown model spec {text!r} (valid forms: smollm2, "
        "hf:PATH_OR_ID, openai:MODEL@BASE_URL, mock:NAME[?k=v])")


def test_registry_covers_every_kind_and_dispatches(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(BACKENDS) == {"smollm2", "hf", "openai", "mock"}
    seen: list[tuple[ModelSpec, LoadOptions]] = []

    def fake(parsed: ModelSpec, opts: LoadOptions) -> Any:
        seen.append((parsed, opts))
        return "backend"

    monkeypatch.setitem(BACKENDS, "hf", fake)
    loaded: object = load_backend("hf:some/id", device="cpu", batch_size=4)
    assert loaded == "backend"
    assert seen[0][0].target == "some/id" and seen[0][1].device == "cpu"
    assert seen[0][1].batch_size == 4


@pytest.mark.parametrize(("text", "kw", "message"), [
    ("hf:", {}, "--model: hf: needs a path or hub id, e.g. hf:./my-model"),
    ("mock:stubborn", {"adapter": "a"}, "--adapter: mock models take no adapter"),
    ("openai:m@http://x", {"adapter": "a"}, ("--adapter: openai: models are served elsewhere; "
     "load the adapter on the server")),
    ("nope", {}, ("--model: unknown model spec 'nope' (valid forms: smollm2, hf:PATH_OR_ID, "
     "openai:MODEL@BASE_URL, mock:NAME[?k=v])")),
])
def test_load_errors_are_one_line(text: str, kw: dict[str, Any], message: str) -> None:
    with pytest.raises(UserInputError) as err:
        load_backend(text, **kw)
    assert err.value.cli_message() == message  # Python callers read the parameter name instead
    assert "\n" not in str(err.value)


def test_steering_refused_for_remote_and_unknown_specs() -> None:
    from sycolab.engine.base import SteeringConfig

    steer = SteeringConfig("v.safetensors", 1.0, None)
    for text in ("mock:stubborn", "nope"):
        with pytest.raises(UserInputError) as err:
            load_backend(text, steering=steer)
        assert err.value.cli_message().startswith("--steer: steering needs a local model")


def test_mock_loads_through_the_registry() -> None:
    backend = load_backend("mock:stubborn")
    assert backend.describe()["spec"] == "mock:stubborn"


def test_check_spec_messages(tmp_path: Path) -> None:
    spec.check_spec("smollm2")
    spec.check_spec("mock:stubborn")
    with pytest.raises(UserInputError, match=r"^judge: hf: needs a value") as err:
        spec.check_spec("hf:", "--judge")
    assert err.value.cli_message().startswith("--judge: hf: needs a value")
    with pytest.raises(UserInputError, match="openai:MODEL@BASE_URL with an http"):
        spec.check_spec("openai:gpt@ftp://x")
    with pytest.raises(UserInputError, match="unknown mock model 'zzz'"):
        spec.check_spec("mock:zzz")
