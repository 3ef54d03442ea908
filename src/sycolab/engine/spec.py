"""Model specs (``smollm2``, ``hf:PATH_OR_ID``, ``openai:MODEL@URL``, ``mock:NAME``) to backends."""

from __future__ import annotations

from sycolab.core.errors import UserInputError
from sycolab.engine.base import Backend, SteeringConfig
from sycolab.engine.local_paths import (
    check_adapter_folder,
    check_model_folder,
    check_tokenizer_folder,
    path_like,
)

SPEC_FORMS = "smollm2, hf:PATH_OR_ID, openai:MODEL@BASE_URL, mock:NAME[?k=v]"


def check_spec(spec: str, flag: str = "--model") -> None:
    """One-line `UserInputError` for a spec of no known form (nothing is loaded)."""
    if spec == "smollm2":
        return
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("hf", "openai", "mock"):
        raise UserInputError(f"{flag}: unknown model spec {spec!r} (valid forms: {SPEC_FORMS})")
    if not rest:
        raise UserInputError(f"{flag}: {kind}: needs a value (valid forms: {SPEC_FORMS})")
    if kind == "openai":
        model, _, url = rest.partition("@")
        if not model or not url.startswith(("http://", "https://")):
            raise UserInputError(f"{flag}: openai: specs are openai:MODEL@BASE_URL with an http(s) "
                                 f"URL, e.g. openai:gpt-4o@https://api.openai.com/v1; got {spec!r}")
    if kind == "hf" and path_like(rest):
        check_model_folder(rest, f"{flag} hf:")
    if kind == "mock":
        from sycolab.engine.mock import MOCK_NAMES

        name = rest.partition("?")[0]
        if name not in MOCK_NAMES:
            raise UserInputError(f"{flag}: unknown mock model {name!r} "
                                 f"(valid: {', '.join(MOCK_NAMES)})")


def refuse_unsupported(spec: str, *, lqcd: bool = False, steering: bool = False,
                       adapter: str | None = None, tokenizer: str | None = None) -> None:
    """One-line `UserInputError` for an intervention this kind of model cannot apply (checked
    before anything loads, so nothing is silently ignored)."""
    kind = spec.split(":", 1)[0] if ":" in spec else spec
    if kind == "openai":
        if lqcd:
            raise UserInputError("--decoding lqcd: needs a local model (smollm2 or hf:); an "
                                 "openai: server decodes by itself, so LQCD cannot be applied")
        if steering:
            raise UserInputError("--steer: steering needs a local model (smollm2 or hf:); serve "
                                 "the model with `sycolab serve --steer` and evaluate that")
        if adapter:
            raise UserInputError("--adapter: openai: models are served elsewhere; load the "
                                 "adapter on the server")
    elif tokenizer:
        raise UserInputError(f"--tokenizer: only used with openai: models; {spec} uses its own "
                             "tokenizer")
    if tokenizer and path_like(tokenizer.removeprefix("hf:")):
        check_tokenizer_folder(tokenizer.removeprefix("hf:"))
    if adapter and (kind == "hf" or spec == "smollm2"):
        check_adapter_folder(adapter)
    if kind == "mock" and steering:
        raise UserInputError("--steer: steering needs a local model (smollm2 or hf:)")


def load_backend(
    spec: str,
    *,
    adapter: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int | str = "auto",
    trust_remote_code: bool = False,
    tokenizer: str | None = None,
    steering: SteeringConfig | None = None,
    concurrency: int = 8,
) -> Backend:
    """Build the backend a model spec names; one-line `UserInputError` for a bad spec."""
    local = spec == "smollm2" or spec.startswith("hf:")
    if not local and steering is not None:
        raise UserInputError("--steer: steering needs a local model (smollm2 or hf:)")
    if spec.startswith("mock:"):
        if adapter:
            raise UserInputError("--adapter: mock models take no adapter")
        from sycolab.engine.mock import MockBackend

        return MockBackend(spec)
    if local:
        if spec == "hf:":
            raise UserInputError("--model: hf: needs a path or hub id, e.g. hf:./my-model")
        from sycolab.engine.hf_backend import load_hf_backend

        kwargs = {"steering": steering} if steering is not None else {}
        return load_hf_backend(
            spec,
            adapter=adapter,
            device=device,
            dtype=dtype,
            batch_size=batch_size if isinstance(batch_size, int) else "auto",
            trust_remote_code=trust_remote_code,
            **kwargs,
        )
    if spec.startswith("openai:"):
        if adapter:
            raise UserInputError("--adapter: openai: models are served elsewhere; load the "
                                 "adapter on the server")
        from sycolab.engine.openai_backend import load_openai_backend

        backend: Backend = load_openai_backend(spec, tokenizer=tokenizer, concurrency=concurrency)
        return backend
    raise UserInputError(f"--model: unknown model spec {spec!r} (valid forms: {SPEC_FORMS})")
