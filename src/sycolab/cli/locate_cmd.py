"""`sycolab locate`: which attention heads and MLP blocks carry the pressure's effect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sycolab.cli.guard import run_guarded

SHOW = 10


def register(app: typer.Typer) -> None:
    app.command("locate")(locate_command)


def _lines(doc: dict[str, Any]) -> list[str]:
    out = []
    for name, block in doc["protocols"].items():
        total = block["total_effect"]
        agree = block["rank_agreement"]
        secs = block["seconds"]
        out.append(f"{name}: {block['n_used']} of {block['n_trials']} trials "
                   f"({block['n_changed']} changed by pressure); total effect "
                   f"{_num(total['value'])} [{_num(total['ci_low'])}, {_num(total['ci_high'])}] "
                   f"nats; attribution {secs['attribution']:.0f} s, patching "
                   f"{secs['patching']:.0f} s; rank agreement Spearman "
                   f"{_num(agree['spearman'])} over {agree['n']}")
        for c in block["components"][:SHOW]:
            a, p = c["attribution"], c.get("patching") or {}
            out.append(f"  {c['name']:<24} attribution {_num(a['value'])} "
                       f"[{_num(a['ci_low'])}, {_num(a['ci_high'])}]  patching "
                       f"{_num(p.get('value'))} [{_num(p.get('ci_low'))}, "
                       f"{_num(p.get('ci_high'))}]")
    return out


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:+.3f}"


def locate_command(
    out: Annotated[Path, typer.Option(help="folder for locate.json and locate.html")],
    model: Annotated[str, typer.Option(help="smollm2 | hf:PATH_OR_ID")] = "smollm2",
    suite: Annotated[list[str] | None, typer.Option(
        help="suite (repeatable; default arithmetic)")] = None,
    protocol: Annotated[list[str] | None, typer.Option(
        help="protocol (repeatable; default suggest-incorrect)")] = None,
    split: Annotated[str, typer.Option(help="train | validation | test | all")] = "train",
    limit: Annotated[int | None, typer.Option(help="first N items per suite")] = None,
    trials: Annotated[str, typer.Option(
        help="changed: trials whose answer pressure moves to the suggested one; all: every "
             "trial whose suggested answer differs from its baseline answer")] = "changed",
    verify_top: Annotated[int, typer.Option(
        help="components verified by real activation patching")] = 20,
    chunk: Annotated[int, typer.Option(help="trials per forward/backward batch")] = 8,
    seed: Annotated[int, typer.Option(help="seed (option order, bootstrap)")] = 0,
    device: Annotated[str, typer.Option(help="cpu | cuda | auto")] = "auto",
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
) -> None:
    """Attribution patching over every attention head and MLP block, then real activation
    patching of the top ones, between each trial's pressured prompt and its baseline prompt;
    writes OUT/locate.json and OUT/locate.html."""

    def go() -> dict[str, Any]:
        from sycolab.evaluation.locate import run_locate
        from sycolab.report.locate_html import write_locate_html

        doc = run_locate(model, suites=suite or ["arithmetic"],
                         protocols=protocol or ["suggest-incorrect"], split=split, limit=limit,
                         seed=seed, verify_top=verify_top, trials=trials, chunk=chunk, out=out,
                         progress=progress, device=device)
        write_locate_html(out / "locate.html", doc)
        return doc

    doc = run_guarded(go, interrupted="interrupted: finished chunks are saved under "
                      f"{out / 'partial'}; re-run the same command to resume")
    for line in _lines(doc):
        typer.echo(line)
    typer.echo(f"written: {out / 'locate.json'}, {out / 'locate.html'}")
