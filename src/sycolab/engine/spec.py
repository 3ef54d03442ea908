"""Model specs (``smollm2``, ``hf:PATH_OR_ID``, ``openai:MODEL@URL``, ``mock:NAME``) to backends.

`parse_spec` is the one parser of the spec text; `BACKENDS` maps each kind to its loader;
`is_local` says whether a spec names a model that runs in this process (smollm2 or hf:).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sycolab.core.errors import UserInputError, flag_error
from sycolab.engine.base import Backend, SteeringConfig
from sycolab.engine.local_paths import (
    check_adapter_folder,
    check_model_folder,
    check_tokenizer_folder,
    path_like,
)
from sycolab.engine.model_spec import (
    LOCAL_KINDS,
    PREFIXED,
    SPEC_FORMS,
    ModelSpec,
    SpecKind,
    is_local,
    parse_spec,
    spec_kind,
)

__all__ = ["BACKENDS", "LOCAL_KINDS", "PREFIXED", "SPEC_FORMS", "LoadOptions", "Loader",
           "ModelSpec", "SpecKind", "check_spec", "is_local", "load_backend", "parse_spec",
           "refuse_unsupported", "spec_kind"]


def check_spec(spec: str, flag: str = "--model") -> None:
    """One-line `UserInputError` for a spec of no known form (nothing is loaded)."""
    parsed = parse_spec(spec, flag)
    kind, rest = parsed.kind, parsed.target
    if kind == "smollm2":
        return
    if not rest:
        raise flag_error(flag, f"{kind}: needs a value (valid forms: {SPEC_FORMS})")
    if kind == "openai":
        model, _, url = rest.partition("@")
        if not model or not url.startswith(("http://", "https://")):
            raise flag_error(flag, "openai: specs are openai:MODEL@BASE_URL with an http(s) "
                                 f"URL, e.g. openai:gpt-4o@https://api.openai.com/v1; got {spec!r}")
    if kind == "hf" and path_like(rest):
        check_model_folder(rest, f"{flag} hf:")
    if kind == "mock":
        from sycolab.engine.mock import MOCK_NAMES

        name = rest.partition("?")[0]
        if name not in MOCK_NAMES:
            raise flag_error(flag, f"unknown mock model {name!r} "
                                 f"(valid: {', '.join(MOCK_NAMES)})")


def refuse_unsupported(spec: str, *, lqcd: bool = False, steering: bool = False,
                       adapter: str | None = None, tokenizer: str | None = None) -> None:
    """One-line `UserInputError` for an intervention this kind of model cannot apply (checked
    before anything loads, so nothing is silently ignored)."""
    kind = spec_kind(spec)
    if kind == "openai":
        if lqcd:
            raise UserInputError("--decoding lqcd: needs a local model (smollm2 or hf:); an "
                                 "openai: server decodes by itself, so LQCD cannot be applied")
        if steering:
            raise UserInputError("steering needs a local model (smollm2 or hf:); serve "
                                 "the model with `sycolab serve --steer` and evaluate that",
                                 param="steer")
        if adapter:
            raise UserInputError("openai: models are served elsewhere; load the "
                                 "adapter on the server", param="adapter")
    elif tokenizer:
        raise UserInputError(f"only used with openai: models; {spec} uses its own "
                             "tokenizer", param="tokenizer")
    if tokenizer and path_like(tokenizer.removeprefix("hf:")):
        check_tokenizer_folder(tokenizer.removeprefix("hf:"))
    if adapter and is_local(spec):
        check_adapter_folder(adapter)
    if kind == "mock" and steering:
        raise UserInputError("steering needs a local model (smollm2 or hf:)", param="steer")


@dataclass(frozen=True)
class LoadOptions:
    """The `load_backend` keywords a loader may use (each kind ignores what it has no use for)."""

    adapter: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | str = "auto"
    trust_remote_code: bool = False
    tokenizer: str | None = None
    steering: SteeringConfig | None = None
    concurrency: int = 8


Loader = Callable[[ModelSpec, LoadOptions], Backend]


def _load_local(spec: ModelSpec, opts: LoadOptions) -> Backend:
    if spec.kind == "hf" and not spec.target:
        raise UserInputError("hf: needs a path or hub id, e.g. hf:./my-model", param="model")
    from sycolab.engine.loading import load_hf_backend

    kwargs = {"steering": opts.steering} if opts.steering is not None else {}
    return load_hf_backend(
        spec.text,
        adapter=opts.adapter,
        device=opts.device,
        dtype=opts.dtype,
        batch_size=opts.batch_size if isinstance(opts.batch_size, int) else "auto",
        trust_remote_code=opts.trust_remote_code,
        **kwargs,
    )


def _load_openai(spec: ModelSpec, opts: LoadOptions) -> Backend:
    if opts.adapter:
        raise UserInputError("openai: models are served elsewhere; load the "
                             "adapter on the server", param="adapter")
    from sycolab.engine.openai_backend import load_openai_backend

    backend: Backend = load_openai_backend(spec.text, tokenizer=opts.tokenizer,
                                           concurrency=opts.concurrency)
    return backend


def _load_mock(spec: ModelSpec, opts: LoadOptions) -> Backend:
    if opts.adapter:
        raise UserInputError("mock models take no adapter", param="adapter")
    from sycolab.engine.mock import MockBackend

    return MockBackend(spec.text)


BACKENDS: dict[SpecKind, Loader] = {
    "smollm2": _load_local,
    "hf": _load_local,
    "openai": _load_openai,
    "mock": _load_mock,
}


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
    if steering is not None and not is_local(spec):
        raise UserInputError("steering needs a local model (smollm2 or hf:)", param="steer")
    parsed = parse_spec(spec)
    opts = LoadOptions(adapter=adapter, device=device, dtype=dtype, batch_size=batch_size,
                       trust_remote_code=trust_remote_code, tokenizer=tokenizer,
                       steering=steering, concurrency=concurrency)
    return BACKENDS[parsed.kind](parsed, opts)
