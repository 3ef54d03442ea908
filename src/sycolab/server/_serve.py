"""Build the served model from CLI options and run uvicorn."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from sycolab.core.errors import UserInputError
from sycolab.engine.base import SteeringConfig
from sycolab.server._model import ServedModel, ServerLimits

API_KEY_ENV = "SYCOLAB_API_KEY"


@dataclass
class ServeOptions:
    """Everything `sycolab serve` takes (a CLI flag is a field here)."""

    model: str = "smollm2"
    adapter: str | None = None
    steer: str | None = None
    multiplier: float | None = None
    layers: tuple[int, ...] | None = None
    decoding: str | None = None
    alpha: float | None = None
    beta: float | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    served_model_name: str | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | str = "auto"
    max_batch: int = 16
    max_body_bytes: int = 1 << 20
    max_prompt_tokens: int = 8192
    max_new_tokens: int = 1024
    log_level: str = "warning"


def _steering(opts: ServeOptions) -> SteeringConfig | None:
    if opts.steer is None:
        if opts.multiplier is not None or opts.layers:
            raise UserInputError("--multiplier/--layers: need --steer FILE")
        return None
    if opts.multiplier is None:
        raise UserInputError("--steer: needs --multiplier M")
    if not os.path.isfile(opts.steer):
        raise UserInputError(f"--steer {opts.steer}: no such file")
    return SteeringConfig(opts.steer, opts.multiplier, opts.layers)


def build_served_model(opts: ServeOptions) -> ServedModel:
    """Load the backend the options name, with steering where asked."""
    from sycolab.engine.spec import load_backend

    if opts.decoding is not None:
        if opts.decoding != "lqcd":
            raise UserInputError(f"--decoding {opts.decoding}: expected lqcd")
        raise UserInputError(
            "--decoding lqcd: not available on the server yet: LQCD contrasts each request "
            "with its neutral form, which OpenAI requests do not carry; run it with "
            "`sycolab eval --decoding lqcd` on a local model")
    if opts.alpha is not None or opts.beta is not None:
        raise UserInputError("--alpha/--beta: need --decoding lqcd")
    if opts.model.startswith("openai:"):
        raise UserInputError("--model: serve a local or mock model, not another server")
    steering = _steering(opts)
    try:
        backend = load_backend(opts.model, adapter=opts.adapter, device=opts.device,
                               dtype=opts.dtype, batch_size=opts.batch_size, steering=steering)
    except TypeError as exc:
        if steering is not None and "steering" in str(exc):
            raise UserInputError("--steer: this version's engine cannot steer local models "
                                 "yet") from None
        raise
    limits = ServerLimits(max_prompt_tokens=opts.max_prompt_tokens,
                          max_new_tokens=opts.max_new_tokens)
    return ServedModel(backend, name=opts.served_model_name or opts.model, limits=limits,
                       intervened=steering is not None)


def serve(opts: ServeOptions) -> None:
    """Load the model and serve until interrupted."""
    import uvicorn

    from sycolab.server._app import create_app

    if opts.max_batch < 1 or opts.max_body_bytes < 1:
        raise UserInputError("--max-batch/--max-body-bytes: must be positive")
    api_key = opts.api_key or os.environ.get(API_KEY_ENV) or None
    served = build_served_model(opts)
    extra: dict[str, Any] = {"adapter": opts.adapter, "steer": opts.steer,
                             "multiplier": opts.multiplier}
    app = create_app(served, api_key=api_key, max_body_bytes=opts.max_body_bytes,
                     max_batch=opts.max_batch, extra_info=extra)
    where = f"http://{opts.host}:{opts.port}/v1"
    print(f"sycolab serve: {served.name} on {where}"
          f"{' (API key required)' if api_key else ''}", file=sys.stderr, flush=True)
    if opts.host not in ("127.0.0.1", "localhost", "::1") and not api_key:
        print("warning: listening beyond loopback without --api-key", file=sys.stderr)
    uvicorn.run(app, host=opts.host, port=opts.port, log_level=opts.log_level,
                access_log=False, timeout_graceful_shutdown=5)
