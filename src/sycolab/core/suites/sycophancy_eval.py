"""Loader for SycophancyEval rows (meg-tong/sycophancy-eval), ``sycophancy-eval:PATH``.

Rows are grouped by ``base.question`` into one item (rows of the same question whose gold answer or
options differ start a separate item; a second row for a step the group already has starts a new
group that records `duplicate_of`). item_id = the first row's ``id`` or 1-based line number.
``metadata.prompt_template`` decides the step:

- ``{question}`` alone: ``neutral`` (also stored as ``initial``, the first step of are-you-sure);
- ``... I think the answer is {incorrect_answer} ...``: ``suggest_incorrect``;
- ``... I think the answer is {correct_answer} ...``: ``suggest_correct``;
- ``... I don't think the answer is {correct_answer} ...``: ``discourage_correct``.

Any other template (feedback, mimicry) is refused as not supported yet. Prompts go verbatim into
`fixed_steps` (human -> user, ai -> assistant; a trailing ai turn is the assistant prefill).
Free items: gold = ``correct_answer``, aliases = ``base.answer``, wrong = ``incorrect_answer``,
options = (gold, wrong) when wrong is known. Multiple-choice items (``base.answers`` with
``(A) ...`` lines): lettered in file order, gold = the option of ``correct_letter``, wrong =
``incorrect_answer`` when it names an option (by letter or text), else None. Bare NaN tokens read
as null.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.items import FixedStep, Item, Message, Presentation
from sycolab.core.normalize import normalize_answer
from sycolab.core.suites._common import (
    content_key,
    is_number,
    letters_are_sequential,
    parse_options,
    read_rows,
    row_id,
)

_ROLES = {"human": "user", "ai": "assistant"}


def template_condition(template: str) -> str | None:
    """The step a SycophancyEval prompt template stands for, or None when unsupported."""
    t = template.strip().replace("\u2019", "'")
    if t == "{question}":
        return "neutral"
    if "I don't think the answer is {correct_answer}" in t:
        return "discourage_correct"
    if "I think the answer is {incorrect_answer}" in t:
        return "suggest_incorrect"
    if "I think the answer is {correct_answer}" in t:
        return "suggest_correct"
    return None


@dataclass(frozen=True)
class _Answers:
    gold: str
    wrong: str | None
    aliases: tuple[str, ...]
    options: tuple[str, ...]
    presentation: Presentation


@dataclass
class _Group:
    item_id: str
    line: int
    question: str
    signature: str
    answers: _Answers
    steps: dict[str, FixedStep] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    duplicate_of: str | None = None


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() or None if isinstance(value, str) else None


def _fixed_step(prompt: Any, path: Path, lineno: int) -> FixedStep:
    err = "field 'prompt' must be a list of {type: human|ai, content: string}"
    if not isinstance(prompt, list) or not prompt:
        raise at_line(str(path), lineno, err)
    turns: list[Message] = []
    for turn in prompt:
        if not isinstance(turn, dict) or turn.get("type") not in _ROLES:
            raise at_line(str(path), lineno, err)
        content = turn.get("content")
        if not isinstance(content, str):
            raise at_line(str(path), lineno, err)
        turns.append(Message("user" if turn["type"] == "human" else "assistant", content))
    prefill = ""
    if turns[-1].role == "assistant":
        prefill = turns.pop().content
    if not turns or turns[-1].role != "user":
        raise at_line(str(path), lineno, "field 'prompt' must end with a human turn (or a prefill)")
    return FixedStep(messages=tuple(turns), prefill=prefill)


def _as_option(value: str, texts: dict[str, str]) -> str | None:
    """An incorrect answer given as a letter or option text -> the option text; else None."""
    if value.strip("() ") in texts:
        return texts[value.strip("() ")]
    norm = normalize_answer(value)
    return next((t for t in texts.values() if normalize_answer(t) == norm), None)


def _answer_fields(base: dict[str, Any], path: Path, lineno: int) -> _Answers:
    """gold, wrong, aliases, options and presentation from a row's `base`."""
    aliases_raw = base.get("answer")
    aliases_list = aliases_raw if isinstance(aliases_raw, list) else [aliases_raw]
    aliases = tuple(a for a in (_str_or_none(v) for v in aliases_list) if a)
    wrong = _str_or_none(base.get("incorrect_answer"))
    answers = _str_or_none(base.get("answers"))
    if answers is not None:
        opts = parse_options(answers)
        if len(opts) < 2 or not letters_are_sequential(opts):
            raise at_line(str(path), lineno, "'base.answers' needs lines '(A) ...', '(B) ...'")
        texts = dict(opts)
        letter = _str_or_none(base.get("correct_letter"))
        if letter is None or letter.strip("() ") not in texts:
            raise at_line(str(path), lineno, "field 'base.correct_letter' is missing or unknown")
        gold = texts[letter.strip("() ")]
        if wrong is not None:
            wrong = _as_option(wrong, texts)
            wrong = None if wrong == gold else wrong
        return _Answers(gold, wrong, aliases, tuple(t for _, t in opts), "lettered")
    free_gold = _str_or_none(base.get("correct_answer")) or (aliases[0] if aliases else None)
    if free_gold is None:
        raise at_line(str(path), lineno, "'base.correct_answer' (or 'base.answer') is missing")
    if wrong is not None and normalize_answer(wrong) == normalize_answer(free_gold):
        wrong = None
    options = (free_gold, wrong) if wrong is not None else ()
    return _Answers(
        free_gold, wrong, aliases, options, "number" if is_number(free_gold) else "free"
    )


def _parse_row(row: dict[str, Any], path: Path, lineno: int) -> tuple[str, str, str, FixedStep]:
    meta, base = row.get("metadata"), row.get("base")
    template = meta.get("prompt_template") if isinstance(meta, dict) else None
    if not isinstance(template, str):
        raise at_line(str(path), lineno, "field 'metadata.prompt_template' is missing")
    condition = template_condition(template)
    if condition is None or not isinstance(base, dict) or "question" not in base:
        msg = "feedback and mimicry rows are not supported yet (only are_you_sure and answer)"
        raise at_line(str(path), lineno, msg)
    question = base.get("question")
    if not isinstance(question, str) or not question.strip():
        raise at_line(str(path), lineno, "field 'base.question' must be a non-empty string")
    return question, condition, template, _fixed_step(row.get("prompt"), path, lineno)


def _instruction(ans: _Answers, base: dict[str, Any], step: FixedStep | None) -> str:
    answers = base.get("answers")
    if step is None or ans.presentation != "lettered" or not isinstance(answers, str):
        return ""
    content = step.messages[-1].content
    return content.split(answers, 1)[1].strip() if answers in content else ""


def load_sycophancy_eval(path: Path, suite: str) -> list[Item]:
    """Items of a SycophancyEval-format JSONL file, one per question group, in file order."""
    groups: list[_Group] = []
    by_question: dict[str, list[_Group]] = {}
    bases: dict[int, dict[str, Any]] = {}
    explicit: set[str] = set()
    for lineno, row in read_rows(path):
        question, condition, template, step = _parse_row(row, path, lineno)
        rid, is_explicit = row_id(row, lineno)
        if is_explicit:
            if rid in explicit:
                raise at_line(str(path), lineno, f"duplicate id {rid!r}")
            explicit.add(rid)
        base: dict[str, Any] = row["base"]
        ans = _answer_fields(base, path, lineno)
        signature = content_key(ans.gold, ans.options)
        same = [g for g in by_question.get(question, []) if g.signature == signature]
        group = next((g for g in same if condition not in g.steps), None)
        if group is None:
            group = _Group(rid, lineno, question, signature, ans)
            group.duplicate_of = same[0].item_id if same else None
            by_question.setdefault(question, []).append(group)
            groups.append(group)
            bases[id(group)] = base
        elif group.answers.wrong is None and ans.wrong is not None:
            group.answers = ans
        group.steps[condition] = step
        group.templates[condition] = template
    ids = [g.item_id for g in groups]
    if len(set(ids)) != len(ids):
        raise UserInputError(f"{path}: an explicit id collides with another row's line number")
    return [_item(g, bases[id(g)], suite) for g in groups]


def _item(group: _Group, base: dict[str, Any], suite: str) -> Item:
    steps = dict(group.steps)
    if "neutral" in steps:
        steps["initial"] = steps["neutral"]
    ans = group.answers
    gold_norm = normalize_answer(ans.gold)
    metadata: dict[str, Any] = {
        "dataset": base.get("dataset"),
        "templates": dict(group.templates),
        "line": group.line,
    }
    return Item(
        suite=suite,
        item_id=group.item_id,
        question=group.question,
        presentation=ans.presentation,
        default_scoring="choice" if ans.presentation == "lettered" else "generate",
        gold=ans.gold,
        wrong=ans.wrong,
        aliases=tuple(a for a in ans.aliases if normalize_answer(a) != gold_norm),
        options=ans.options,
        instruction=_instruction(ans, base, group.steps.get("neutral")),
        fixed_steps=steps,
        metadata=metadata,
        duplicate_of=group.duplicate_of,
    )
