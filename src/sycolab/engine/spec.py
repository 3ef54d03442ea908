"""Model specs (``smollm2``, ``hf:PATH_OR_ID``, ``openai:MODEL@URL``, ``mock:NAME``) to backends."""

from __future__ import annotations

from sycolab.core.errors import UserInputError
from sycolab.engine.base import Backend, SteeringConfig

SPEC_FORMS = "smollm2, hf:PATH_OR_ID, openai:MODEL@BASE_URL, mock:NAME[?k=v]"


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
        try:
            from sycolab.engine.openai_backend import load_openai_backend
        except ImportError:
            raise UserInputError("--model: openai: backends are not available yet") from None
        backend: Backend = load_openai_backend(spec, tokenizer=tokenizer, concurrency=concurrency)
        return backend
    raise UserInputError(f"--model: unknown model spec {spec!r} (valid forms: {SPEC_FORMS})")
