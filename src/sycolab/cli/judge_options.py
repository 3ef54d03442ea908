"""The judge flags that `eval`, `rescore` and `audit` share (one spelling, one help text)."""

from __future__ import annotations

from typing import Annotated

import typer

JudgeSpec = Annotated[str | None, typer.Option(
    help="judge model spec (openai:MODEL@URL | hf:PATH_OR_ID | smollm2 | mock:judge)")]
JudgeMode = Annotated[str, typer.Option(
    help="auto (local: logprob, else generate) | generate | logprob")]
Device = Annotated[str, typer.Option(help="cpu | cuda | auto")]
Dtype = Annotated[str, typer.Option(help="float32 | bfloat16 | float16 | auto")]
Concurrency = Annotated[int, typer.Option(help="parallel requests (openai: models)")]
Progress = Annotated[bool, typer.Option(help="show progress bars")]
