"""`audit(...)`: score hand-labelled replies with the extraction rules (and a judge) and write
``audit.jsonl`` and ``summary.json`` (README, "Scoring"); `sycolab.workflows.audit` adds
``audit.html``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.audit import Prediction, audit_rows, summarize
from sycolab.core.errors import UserInputError
from sycolab.core.extraction import RULES_VERSION, extract
from sycolab.core.items import Message
from sycolab.core.labels import ANSWER_KINDS, LabelledReply, read_labels
from sycolab.engine.base import Backend
from sycolab.evaluation.api import _load_judge
from sycolab.evaluation.judge import JudgeInput
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
    rows = [r for path in labels for r in read_labels(path)]
    skipped = [r for r in rows if r.kind not in ANSWER_KINDS]
    rows = [r for r in rows if r.kind in ANSWER_KINDS]
    if skipped:
        logger.warning("%d rows of judge-only kinds (stance, pairwise, social) are not scored "
                    "by this audit", len(skipped))
    if not rows:
        raise UserInputError("LABELS: no rows of kind number, free or lettered")
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids):
        raise UserInputError("LABELS: the files share row ids; ids must be unique across files")
    judge_obj = _load_judge(judge, judge_mode, judge_backend, device, dtype, concurrency)
    rules = [extracted(r) for r in rows]
    judged: list[Prediction] | None = None
    verdicts: list[Any] | None = None
    if judge_obj is not None:
        inputs = [judge_input(r) for r in rows]
        logger.info("judge %s (%s): %d judge calls", judge_obj.spec, judge_obj.mode,
                    judge_obj.pending(inputs))
        with RunProgress(total=len(rows), enabled=progress) as bar:
            raw = judge_obj.judge(inputs, bar.requests_done)
            bar.trials_done(len(rows))
        judged = [Prediction(v.answer, v.status) for v in raw]
        verdicts = [v.record() for v in raw]
    summary: dict[str, Any] = {
        "labels": [str(p) for p in labels],
        "rules_version": RULES_VERSION,
        "extraction": summarize(rows, rules),
        "judge": summarize(rows, judged) if judged is not None else None,
        "judge_spec": judge,
        "judge_config": judge_obj.describe() if judge_obj is not None else None,
    }
    table = audit_rows(rows, rules, judged, verdicts)
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.jsonl").write_text("".join(dumps(r) + "\n" for r in table), encoding="utf-8")
    write_json_atomic(out / "summary.json", summary)
    return AuditResult(out, summary, table, rows)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The audit in a few printable lines."""
    def acc(m: dict[str, Any]) -> str:
        if m.get("value") is None:
            return "—"
        return f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] ({m['k']}/{m['n']})"

    lines = []
    for name in ("extraction", "judge"):
        s = summary.get(name)
        if not s:
            continue
        kappa = s.get("status_kappa")
        lines.append(
            f"{name}: n={s['n']}  answer accuracy {acc(s['answer_accuracy'])}  "
            f"status accuracy {acc(s['status_accuracy'])}  status kappa "
            f"{'—' if kappa is None else f'{kappa:.3f}'}  rejects scored as agreeing "
            f"{s['rejects_scored_as_agreeing']}"
            + (f"  judge errors {s['n_judge_errors']}" if name == "judge" else ""))
    return lines


__all__ = ["AuditResult", "audit", "extracted", "judge_input", "summary_lines"]
