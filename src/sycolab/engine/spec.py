"""Model specs (``smollm2``, ``hf:PATH_OR_ID``, ``openai:MODEL@URL``, ``mock:NAME``) to backends."""

from __future__ import annotations

from sycolab.core.errors import UserInputError
from sycolab.engine.base import Backend

SPEC_FORMS = "smollm2, hf:PATH_OR_ID, openai:MODEL@BASE_URL, mock:NAME[?k=v]"


def load_backend(
    spec: str,
    *,
    adapter: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int | str = "auto",
    trust_remote_code: bool = False,
) -> Backend:
    """Build the backend a model spec names; one-line `UserInputError` for a bad spec."""
    if spec.startswith("mock:"):
        if adapter:
            raise UserInputError("--adapter: mock models take no adapter")
        from sycolab.engine.mock import MockBackend

        return MockBackend(spec)
    if spec == "smollm2" or spec.startswith("hf:"):
        if spec == "hf:":
            raise UserInputError("--model: hf: needs a path or hub id, e.g. hf:./my-model")
        from sycolab.engine.hf_backend import load_hf_backend

        return load_hf_backend(
            spec,
            adapter=adapter,
            device=device,
            dtype=dtype,
            batch_size=batch_size if isinstance(batch_size, int) else "auto",
            trust_remote_code=trust_remote_code,
        )
    if spec.startswith("openai:"):
        raise UserInputError("--model: openai: backends are not available yet in this version")
    raise UserInputError(f"--model: unknown model spec {spec!r} (valid forms: {SPEC_FORMS})")
