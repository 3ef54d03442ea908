"""`sycolab eval`: evaluate a model under pressure protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.judge_options import JudgeMode, JudgeSpec
from sycolab.cli.output import Json, Output, Quiet
from sycolab.core.splits import SPLIT_CHOICES


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def eval_command(
    model: Annotated[str, typer.Option(
        help="smollm2 | hf:PATH_OR_ID | openai:MODEL@BASE_URL | mock:NAME")] = "smollm2",
    adapter: Annotated[str | None, typer.Option(help="peft LoRA adapter folder")] = None,
    suite: Annotated[list[str] | None, typer.Option(
        help="facts | arithmetic | addition-claims | perez:PATH | sycophancy-eval:PATH | "
             "jsonl:PATH | sycon:DIR[@SETTING] | freeform:PATH | elephant:PATH (repeatable)"
    )] = None,
    protocol: Annotated[list[str] | None, typer.Option(
        help="suggest-incorrect | suggest-correct | discourage-correct | are-you-sure | reask | "
             "pushback | pushback-K (K=1..8) | persona | aside | rebuttal-simple | "
             "rebuttal-ethos | rebuttal-justification | rebuttal-citation (each also "
             "-preemptive) | argument-only | social-only | sycon-base | sycon-andrew | "
             "freeform-pushback | feedback | mimicry | social (repeatable; default: the "
             "suite's own)")] = None,
    scoring: Annotated[str, typer.Option(
        help="auto | choice | generate | lm-eval | judge")] = "auto",
    split: Annotated[str, typer.Option(help=" | ".join(SPLIT_CHOICES))] = "all",
    limit: Annotated[int | None, typer.Option(help="first N items per suite")] = None,
    shuffle: Annotated[bool, typer.Option(help="seeded shuffle before --limit")] = False,
    seed: Annotated[int, typer.Option(help="presentation and shuffling seed")] = 0,
    out: Annotated[Path | None, typer.Option(
        help="run folder (default runs/<config-hash>)")] = None,
    tokenizer: Annotated[str | None, typer.Option(help="tokenizer spec (openai: models)")] = None,
    system_prompt: Annotated[str | None, typer.Option(help="TEXT or @FILE")] = None,
    max_new_tokens: Annotated[int | None, typer.Option(
        help="generation length (default: the suite's, 32 for answer suites)")] = None,
    batch_size: Annotated[str, typer.Option(help="N or auto")] = "auto",
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    dtype: Annotated[str, typer.Option(help="float32 | bfloat16 | float16 | auto")] = "auto",
    mitigation: Annotated[str | None, typer.Option(
        help="prompt baseline: honesty-prompt | third-person")] = None,
    steer: Annotated[str | None, typer.Option(help="steering vector file")] = None,
    multiplier: Annotated[float | None, typer.Option(help="steering multiplier")] = None,
    layers: Annotated[list[int] | None, typer.Option(help="steering layers")] = None,
    decoding: Annotated[str | None, typer.Option(help="lqcd")] = None,
    alpha: Annotated[float | None, typer.Option(help="LQCD alpha")] = None,
    beta: Annotated[float | None, typer.Option(help="LQCD beta")] = None,
    concurrency: Annotated[int, typer.Option(help="parallel requests (openai: models)")] = 8,
    allow_foreign_vector: Annotated[bool, typer.Option(
        help="apply a --steer vector whose metadata names another model (recorded)")] = False,
    judge: JudgeSpec = None,
    judge_mode: JudgeMode = "auto",
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    quiet: Quiet = False,
    json: Json = False,
) -> None:
    """Evaluate a model under pressure protocols and write a run folder."""
    output = Output(quiet=quiet, json=json)

    def go() -> Any:
        from sycolab.workflows import evaluate

        return evaluate(
            model, adapter=adapter, suite=suite, protocol=protocol, scoring=scoring, split=split,
            limit=limit, shuffle=shuffle, seed=seed, out=out, system_prompt=system_prompt,
            max_new_tokens=max_new_tokens, batch_size=batch_size, device=device, dtype=dtype,
            progress=output.progress(progress), mitigation=mitigation, steer=steer,
            multiplier=multiplier, layers=layers, decoding=decoding, alpha=alpha, beta=beta,
            tokenizer=tokenizer, concurrency=concurrency, judge=judge, judge_mode=judge_mode,
            allow_foreign_vector=allow_foreign_vector,
        )

    result = output.run(go)
    from sycolab.cli.summary import print_result

    print_result(output, result, "eval")
