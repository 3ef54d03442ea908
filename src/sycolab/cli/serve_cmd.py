"""`sycolab serve`: an OpenAI-compatible server over a local (or mock) model."""

from __future__ import annotations

from typing import Annotated

import typer

from sycolab.cli.guard import run_guarded


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    model: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID | mock:NAME")] = "smollm2",
    adapter: Annotated[str | None, typer.Option(help="peft LoRA adapter folder")] = None,
    steer: Annotated[str | None, typer.Option(help="steering vector file")] = None,
    multiplier: Annotated[float | None, typer.Option(help="steering multiplier")] = None,
    layers: Annotated[list[int] | None, typer.Option(help="steering layers")] = None,
    decoding: Annotated[str | None, typer.Option(help="lqcd (not on the server yet)")] = None,
    alpha: Annotated[float | None, typer.Option(help="LQCD alpha")] = None,
    beta: Annotated[float | None, typer.Option(help="LQCD beta")] = None,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port (1-65535)")] = 8000,
    api_key: Annotated[str | None, typer.Option(
        help="require 'Authorization: Bearer KEY' (default $SYCOLAB_API_KEY); needed "
             "beyond loopback")] = None,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="serve beyond loopback without an API key (warned, "
                                   "recorded in /v1/models)")] = False,
    served_model_name: Annotated[str | None, typer.Option(
        help="model id clients use (default: the --model spec)")] = None,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32 | bfloat16 | float16 | auto")] = "auto",
    batch_size: Annotated[str, typer.Option(help="engine batch size: N or auto")] = "auto",
    max_batch: Annotated[int, typer.Option(help="requests batched together at most")] = 16,
    max_body_bytes: Annotated[int, typer.Option(help="413 above this body size")] = 1 << 20,
    max_prompt_tokens: Annotated[int, typer.Option(help="400 above this prompt length")] = 8192,
    max_new_tokens: Annotated[int, typer.Option(help="400 above this max_tokens")] = 1024,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """Serve a model over an OpenAI-compatible HTTP API (127.0.0.1 by default)."""

    def go() -> None:
        from sycolab.server import ServeOptions, serve

        bs: int | str = batch_size
        if batch_size != "auto":
            from sycolab.core.errors import UserInputError

            if not batch_size.isdigit() or int(batch_size) < 1:
                raise UserInputError("expected a positive integer or 'auto', "
                                     f"got {batch_size!r}", param="batch_size")
            bs = int(batch_size)
        serve(ServeOptions(
            model=model, adapter=adapter, steer=steer, multiplier=multiplier,
            layers=tuple(layers) if layers else None, decoding=decoding, alpha=alpha, beta=beta,
            host=host, port=port, api_key=api_key, insecure_no_auth=insecure_no_auth,
            served_model_name=served_model_name,
            device=device, dtype=dtype, batch_size=bs, max_batch=max_batch,
            max_body_bytes=max_body_bytes, max_prompt_tokens=max_prompt_tokens,
            max_new_tokens=max_new_tokens, log_level=log_level))

    run_guarded(go)
