"""`audit(...)`: score hand-labelled replies with the extraction rules (and a judge) and write
``audit.jsonl`` and ``summary.json`` (README, "Scoring"); `sycolab.workflows.audit` adds
``audit.html``. Rows of the judge-only kinds (stance, pairwise, social) are scored by the field
judge of their kind (`sycolab.evaluation.field_judges`) on the same backend as ``--judge``; without
a judge they are reported as not scored."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.audit import Prediction, audit_rows, field_rows, summarize, summarize_field
from sycolab.core.errors import UserInputError
from sycolab.core.extraction import RULES_VERSION, extract
from sycolab.core.items import Item, Message
from sycolab.core.labels import (
    ANSWER_KINDS,
    JUDGE_KINDS,
    LabelledReply,
    read_labels,
    social_dataset,
)
from sycolab.engine.base import Backend
from sycolab.evaluation.api import _load_judge
from sycolab.evaluation.field_judges import FieldJudge, FieldJudgeInput, load_field_judges
from sycolab.evaluation.judge import Judge, JudgeInput
from sycolab.evaluation.progress import RunProgress
from sycolab.runs.jsonio import dumps, write_json_atomic

logger = logging.getLogger(__name__)


@dataclass
class AuditResult:
    """Where the audit was written, its summary, its table and the labelled replies it read."""

    out: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]]
    labelled: list[LabelledReply] = field(default_factory=list)


def extracted(label: LabelledReply) -> Prediction:
    """The extraction rules' answer and status for one labelled reply."""
    found = extract(label.item(), label.reply, label.options if label.kind == "lettered" else (),
                    previous=label.norm(label.previous_answer),
                    suggested=label.norm(label.suggested), has_previous=label.has_previous)
    return Prediction(found.answer, found.status)


def _conversation(label: LabelledReply) -> tuple[Message, ...]:
    convo = label.raw.get("conversation")
    if isinstance(convo, list) and all(isinstance(m, dict) for m in convo):
        return tuple(Message(m.get("role", "user"), str(m.get("content", ""))) for m in convo)
    turns = [Message("user", label.question)]
    if isinstance(label.raw.get("previous_reply"), str):
        turns.append(Message("assistant", label.raw["previous_reply"]))
    return tuple(turns)


def judge_input(label: LabelledReply) -> JudgeInput:
    """What a judge sees of one labelled reply."""
    return JudgeInput(item=label.item(), options=label.options if label.kind == "lettered" else (),
                      suggested=label.suggested, previous=label.norm(label.previous_answer),
                      has_previous=label.has_previous, conversation=_conversation(label),
                      reply=label.reply)


def field_input(label: LabelledReply) -> FieldJudgeInput:
    """What a field judge sees of one labelled reply of a judge-only kind."""
    meta: dict[str, Any] = {"field": label.kind}
    if label.kind == "stance":
        meta["stance"] = label.raw.get("stance")
    elif label.kind == "pairwise":
        meta = {"field": "feedback", "text": label.raw.get("text") or label.question}
    else:
        meta["dataset"] = social_dataset(label)
    item = Item(suite="audit", item_id=label.id, question=label.question, presentation="free",
                default_scoring="generate", gold="holds" if label.kind == "stance" else None,
                metadata=meta)
    convo = _conversation(label) if label.kind == "stance" else (Message("user", label.question),)
    return FieldJudgeInput(kind=label.kind, item=item, conversation=convo, reply=label.reply,
                           reference=label.raw.get("reply_b") if label.kind == "pairwise" else None)


def _field_audit(rows: list[LabelledReply], judge: Judge | None, judge_mode: str,
                 progress: bool) -> tuple[dict[str, Any], dict[str, dict[str, Any] | None]]:
    """Summary sections per judge-only kind and each row's verdict record (None unjudged)."""
    kinds = [k for k in JUDGE_KINDS if any(r.kind == k for r in rows)]
    verdicts: dict[str, dict[str, Any] | None] = {r.id: None for r in rows}
    if judge is None:
        if rows:
            logger.warning("%d rows of judge-only kinds (stance, pairwise, social) are not "
                           "scored without --judge", len(rows))
        return {k: summarize_field(k, rows, None) for k in kinds}, verdicts
    judges: dict[str, FieldJudge] = load_field_judges(judge.spec, judge.backend, mode=judge_mode,
                                                      kinds=kinds)
    sections = {}
    with RunProgress(total=len(rows), enabled=progress) as bar:
        for kind in kinds:
            mine = [r for r in rows if r.kind == kind]
            inputs = [field_input(r) for r in mine]
            fj = judges[kind]
            logger.info("%s judge %s (%s): %d judge calls", kind, fj.spec, fj.mode,
                        fj.pending(inputs))
            for r, v in zip(mine, fj.judge(inputs, bar.requests_done), strict=True):
                verdicts[r.id] = v.record()
            bar.trials_done(len(mine))
            sections[kind] = {**summarize_field(kind, mine, [verdicts[r.id] for r in mine]),
                              "judge_config": fj.describe()}
    return sections, verdicts


def audit(
    labels: Sequence[str | Path],
    *,
    out: str | Path,
    judge: str | None = None,
    judge_mode: str = "auto",
    device: str = "auto",
    dtype: str = "auto",
    concurrency: int = 8,
    judge_backend: Backend | None = None,
    progress: bool = True,
) -> AuditResult:
    """Audit the rules (and `judge`) on the labelled-reply files; writes audit.jsonl and
    summary.json into `out`."""
    if not labels:
        raise UserInputError("LABELS: give at least one labelled-reply file")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError("exists and is not a folder", param="out", value=out)
    every = [r for path in labels for r in read_labels(path)]
    ids = [r.id for r in every]
    if len(set(ids)) != len(ids):
        raise UserInputError("LABELS: the files share row ids; ids must be unique across files")
    rows = [r for r in every if r.kind in ANSWER_KINDS]
    fields = [r for r in every if r.kind in JUDGE_KINDS]
    if not rows and not (fields and judge):
        raise UserInputError("LABELS: no rows of kind number, free or lettered" + (
            " (rows of kind stance, pairwise or social are scored only with --judge)"
            if fields else ""))
    judge_obj = _load_judge(judge, judge_mode, judge_backend, device, dtype, concurrency)
    rules = [extracted(r) for r in rows]
    judged: list[Prediction] | None = None
    verdicts: list[Any] | None = None
    if judge_obj is not None and rows:
        inputs = [judge_input(r) for r in rows]
        logger.info("judge %s (%s): %d judge calls", judge_obj.spec, judge_obj.mode,
                    judge_obj.pending(inputs))
        with RunProgress(total=len(rows), enabled=progress) as bar:
            raw = judge_obj.judge(inputs, bar.requests_done)
            bar.trials_done(len(rows))
        judged = [Prediction(v.answer, v.status) for v in raw]
        verdicts = [v.record() for v in raw]
    elif judge_obj is not None:
        judged, verdicts = [], []
    sections, field_verdicts = _field_audit(fields, judge_obj, judge_mode, progress)
    summary: dict[str, Any] = {
        "labels": [str(p) for p in labels],
        "rules_version": RULES_VERSION,
        "extraction": summarize(rows, rules),
        "judge": summarize(rows, judged) if judged is not None else None,
        "judge_spec": judge,
        "judge_config": judge_obj.describe() if judge_obj is not None else None,
    }
    summary.update(sections)
    table = audit_rows(rows, rules, judged, verdicts)
    if fields:
        by_id = {r["id"]: r for r in table}
        by_id.update({r["id"]: r for r in field_rows(
            fields, None if judge_obj is None else [field_verdicts[f.id] for f in fields])})
        table = [by_id[i] for i in ids]
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.jsonl").write_text("".join(dumps(r) + "\n" for r in table), encoding="utf-8")
    write_json_atomic(out / "summary.json", summary)
    return AuditResult(out, summary, table, every)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The audit in a few printable lines."""
    def acc(m: dict[str, Any]) -> str:
        if m.get("value") is None:
            return "—"
        return f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] ({m['k']}/{m['n']})"

    lines = []
    only_fields = any(summary.get(k) for k in JUDGE_KINDS)
    for name in ("extraction", "judge"):
        s = summary.get(name)
        if not s or (only_fields and not s["n"]):
            continue
        kappa = s.get("status_kappa")
        lines.append(
            f"{name}: n={s['n']}  answer accuracy {acc(s['answer_accuracy'])}  "
            f"status accuracy {acc(s['status_accuracy'])}  status kappa "
            f"{'—' if kappa is None else f'{kappa:.3f}'}  rejects scored as agreeing "
            f"{s['rejects_scored_as_agreeing']}"
            + (f"  judge errors {s['n_judge_errors']}" if name == "judge" else ""))
    for kind in JUDGE_KINDS:
        f = summary.get(kind)
        if not f:
            continue
        if not f.get("scored"):
            lines.append(f"{kind} judge: {f['n_rows']} rows not scored (needs --judge)")
            continue
        kappa = f.get("kappa")
        extra = "" if kind == "social" or kappa is None else f"  kappa {kappa:.3f}"
        if kind == "stance":
            extra += f"  holds/not holds {acc(f['holds_agreement'])}"
        if kind == "pairwise":
            extra += f"  order disagreements {f['order_disagreements']}"
        if kind == "social":
            extra += "".join(f"  {name} {acc(m['accuracy'])}"
                             for name, m in f["per_label"].items())
        lines.append(f"{kind} judge: n={f['n']}  agreement {acc(f['agreement'])}{extra}  "
                     f"judge errors {f['n_judge_errors']}")
    return lines


__all__ = ["AuditResult", "audit", "extracted", "field_input", "judge_input", "summary_lines"]
