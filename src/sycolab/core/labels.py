"""Hand-labelled replies for the scoring audit (README, "Scoring").

One JSON object per line: ``id``, ``kind`` (number | free | lettered; stance | pairwise | social
for judge-only verdicts), ``question``, ``options`` (lettered), ``gold``, ``suggested`` (or null),
``previous_answer`` (or absent), ``reply``, ``label_answer`` (or null), ``label_status``.
Answers are option texts for lettered rows, never letters. Judge-only kinds carry
``label_verdict`` instead: stance ``holds | changed | unclear`` with ``stance`` (the position the
reply should hold) and ``conversation`` (the turns before the reply, ``[{role, content}]``;
default the question); pairwise ``first | second | same`` (which of ``reply`` and ``reply_b`` is
more positive) with ``reply_b`` and optionally ``text`` (what both comment on); social an object
of booleans, the four ELEPHANT labels (``dataset`` ``oeq``) or ``moral_endorsement`` (``aita``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer

ANSWER_KINDS = ("number", "free", "lettered")
JUDGE_KINDS = ("stance", "pairwise", "social")
LABEL_STATUSES = ("answered", "reaffirmed", "abandoned", "ambiguous", "truncated", "empty")
STANCE_VERDICTS = ("holds", "changed", "unclear")
PAIR_VERDICTS = ("first", "second", "same")
SOCIAL_KEYS = {
    "oeq": ("emotional_validation", "indirect_language", "indirect_action", "accept_framing"),
    "aita": ("moral_endorsement",),
}


@dataclass(frozen=True)
class LabelledReply:
    """One labelled reply, as read from the file."""

    id: str
    kind: str
    question: str
    reply: str
    gold: str | None = None
    suggested: str | None = None
    options: tuple[str, ...] = ()
    previous_answer: str | None = None
    has_previous: bool = False
    label_answer: str | None = None
    label_status: str | None = None
    label_verdict: str | dict[str, bool] | None = None  # judge-only kinds
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def item(self) -> Item:
        """The item this reply answers, as the extraction rules see it."""
        presentation = {"number": "number", "free": "free", "lettered": "lettered"}[self.kind]
        return Item(suite="audit", item_id=self.id, question=self.question,
                    presentation=presentation,  # type: ignore[arg-type]
                    default_scoring="generate", gold=self.gold, wrong=self.suggested,
                    options=self.options)

    def norm(self, answer: str | None) -> str | None:
        """An answer as trial records store it (normalized, aliases of gold as gold)."""
        return None if answer is None else self.item().canonical(answer)


def _text(row: dict[str, Any], key: str, where: tuple[str, int], required: bool) -> str | None:
    value = row.get(key)
    if value is None:
        if required:
            raise at_line(*where, f"missing field {key!r}")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise at_line(*where, f"field {key!r} must be a string")
    return value


def _conversation_ok(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict) and m.get("role") in ("user", "assistant")
        and isinstance(m.get("content"), str) for m in value)


def _verdict(row: dict[str, Any], kind: str,
             where: tuple[str, int]) -> str | dict[str, bool]:
    """The checked ``label_verdict`` of a judge-only row (and the fields its kind needs)."""
    verdict = row.get("label_verdict")
    if kind == "stance":
        _text(row, "stance", where, True)
        if "conversation" in row and not _conversation_ok(row["conversation"]):
            raise at_line(*where, "conversation must be a list of {role: user|assistant, "
                                  "content: string}")
        if verdict not in STANCE_VERDICTS:
            raise at_line(*where, f"label_verdict must be one of {', '.join(STANCE_VERDICTS)}")
        return str(verdict)
    if kind == "pairwise":
        _text(row, "reply_b", where, True)
        _text(row, "text", where, False)
        if verdict not in PAIR_VERDICTS:
            raise at_line(*where, f"label_verdict must be one of {', '.join(PAIR_VERDICTS)}")
        return str(verdict)
    if not isinstance(verdict, dict):
        raise at_line(*where, "label_verdict of a social row must be an object of booleans")
    dataset = row.get("dataset", "aita" if "moral_endorsement" in verdict else "oeq")
    keys = SOCIAL_KEYS.get(dataset) if isinstance(dataset, str) else None
    if keys is None:
        raise at_line(*where, "dataset must be oeq or aita")
    if set(verdict) != set(keys) or not all(isinstance(v, bool) for v in verdict.values()):
        raise at_line(*where, f"label_verdict of a {dataset} row must have exactly the "
                              f"booleans {', '.join(keys)}")
    return {k: verdict[k] for k in keys}


def social_dataset(label: LabelledReply) -> str:
    """``aita`` or ``oeq`` for a social row."""
    verdict = label.label_verdict
    return "aita" if isinstance(verdict, dict) and "moral_endorsement" in verdict else "oeq"


def read_labels(path: str | Path) -> list[LabelledReply]:
    """Parse a labelled-reply file; a bad row is a UserInputError naming file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read ({exc.strerror})") from None
    rows: list[LabelledReply] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = (str(path), number)
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise at_line(*where, f"not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise at_line(*where, "not a JSON object")
        rid = _text(row, "id", where, True) or ""
        if rid in seen:
            raise at_line(*where, f"duplicate id {rid!r}")
        seen.add(rid)
        kind = _text(row, "kind", where, True)
        if kind not in ANSWER_KINDS + JUDGE_KINDS:
            raise at_line(*where, f"kind must be one of {', '.join(ANSWER_KINDS + JUDGE_KINDS)}")
        options = row.get("options") or ()
        if not isinstance(options, list | tuple) or not all(isinstance(o, str) for o in options):
            raise at_line(*where, "options must be a list of strings")
        if kind == "lettered" and len(options) < 2:
            raise at_line(*where, "a lettered row needs at least two options")
        status = _text(row, "label_status", where, kind in ANSWER_KINDS)
        if kind in ANSWER_KINDS and status not in LABEL_STATUSES:
            raise at_line(*where, f"label_status must be one of {', '.join(LABEL_STATUSES)}")
        label = _text(row, "label_answer", where, False)
        if kind == "lettered" and label is not None and \
                normalize_answer(label) not in {normalize_answer(o) for o in options}:
            raise at_line(*where, "label_answer of a lettered row must be an option text")
        rows.append(LabelledReply(
            id=rid, kind=kind, question=_text(row, "question", where, True) or "",
            reply=_text(row, "reply", where, True) or "",
            gold=_text(row, "gold", where, False), suggested=_text(row, "suggested", where, False),
            options=tuple(options), previous_answer=_text(row, "previous_answer", where, False),
            has_previous="previous_answer" in row, label_answer=label, label_status=status,
            label_verdict=_verdict(row, kind, where) if kind in JUDGE_KINDS else None, raw=row,
        ))
    if not rows:
        raise UserInputError(f"{path}: no labelled rows")
    return rows
