"""Loader for SycophancyEval rows (meg-tong/sycophancy-eval), ``sycophancy-eval:PATH``.

Rows are grouped by ``base.question`` into one item (rows of the same question whose gold answer or
options differ start a separate item; a second row for a step the group already has starts a new
group that records `duplicate_of`). item_id = the first row's ``id`` or 1-based line number.
``metadata.prompt_template`` decides the step:

- ``{question}`` alone: ``neutral`` (also stored as ``initial``, the first step of are-you-sure);
- ``... I think the answer is {incorrect_answer} ...``: ``suggest_incorrect``;
- ``... I think the answer is {correct_answer} ...``: ``suggest_correct``;
- ``... I don't think the answer is {correct_answer} ...``: ``discourage_correct``.

Any other template is refused. Prompts go verbatim into `fixed_steps` (human -> user, ai ->
assistant; a trailing ai turn is the assistant prefill).
Free items: gold = ``correct_answer``, aliases = ``base.answer``, wrong = ``incorrect_answer``,
options = (gold, wrong) when wrong is known. Multiple-choice items (``base.answers`` with
``(A) ...`` lines): lettered in file order, gold = the option of ``correct_letter``, wrong =
``incorrect_answer`` when it names an option (by letter or text), else None. Bare NaN tokens read
as null.

Feedback rows (``metadata.prompt_template_type``) and mimicry rows (``base.attribution``) become
field items (design "Item conventions"; rules at `feedback_items` and `mimicry_items`). One file
holds one kind of row: answer/are_you_sure rows, or feedback rows, or mimicry rows (a row of
another kind is an error naming its line), so the suite's default protocol and reply length are
unambiguous: feedback -> ``feedback``, 384 tokens; mimicry -> ``mimicry``, 160 tokens;
answer/are_you_sure -> none (the usual defaults).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sycolab.core.errors import UserInputError, at_line
from sycolab.core.items import FixedStep, Item, Message, Presentation
from sycolab.core.normalize import normalize_answer
from sycolab.core.suites._common import (
    JUDGE_SCORING,
    content_key,
    is_number,
    letters_are_sequential,
    parse_options,
    read_rows,
    row_id,
)
from sycolab.core.suites._suite import Suite

_ROLES = {"human": "user", "ai": "assistant"}
UNKNOWN_ROW = ("row kind not supported yet: sycophancy-eval reads answer/are_you_sure rows "
               "('base.question'), feedback rows ('metadata.prompt_template_type') and mimicry "
               "rows ('base.attribution')")
FEEDBACK_STEPS = {"": "base", "I really like": "like", "I wrote": "wrote",
                  "I really dislike": "dislike", "I did not write": "not_wrote"}
FIELD_DEFAULTS: dict[str, tuple[tuple[str, ...], int]] = {
    "feedback": (("feedback",), 384), "mimicry": (("mimicry",), 160)}
_TEXT_KEYS = ("text", "wrong_solution", "correct_solution", "solution")


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
        raise at_line(str(path), lineno, UNKNOWN_ROW)
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


def row_kind(row: dict[str, Any]) -> str:
    """``feedback`` (a row with ``metadata.prompt_template_type``), ``mimicry``
    (``base.attribution`` and no ``base.question``) or ``answer`` (anything else: answer /
    are_you_sure rows, checked as such)."""
    meta, base = row.get("metadata"), row.get("base")
    if isinstance(meta, dict) and "prompt_template_type" in meta:
        return "feedback"
    if isinstance(base, dict) and "attribution" in base and "question" not in base:
        return "mimicry"
    return "answer"


def _one_kind(rows: list[tuple[int, dict[str, Any]]], path: Path) -> str:
    kind = row_kind(rows[0][1])
    for lineno, row in rows:
        other = row_kind(row)
        if other != kind:
            raise at_line(str(path), lineno, f"a {other} row in a file of {kind} rows: put "
                          "answer/are_you_sure, feedback and mimicry rows in separate files")
    return kind


def load_sycophancy_eval_suite(path: Path, name: str) -> Suite:
    """The `Suite` of ``sycophancy-eval:PATH``, with the defaults of its row kind."""
    rows = read_rows(path)
    kind = _one_kind(rows, path)
    if kind == "answer":
        return Suite.build(name, _answer_items(rows, path, name), str(path))
    items = (feedback_items if kind == "feedback" else mimicry_items)(rows, path, name)
    protocols, tokens = FIELD_DEFAULTS[kind]
    return Suite.build(name, items, str(path), default_protocols=protocols,
                       default_max_new_tokens=tokens)


def load_sycophancy_eval(path: Path, suite: str) -> list[Item]:
    """Items of a SycophancyEval-format JSONL file, in file order: one per question group
    (answer/are_you_sure), per text (feedback) or per row (mimicry)."""
    return load_sycophancy_eval_suite(path, suite).items


def _answer_items(rows: list[tuple[int, dict[str, Any]]], path: Path, suite: str) -> list[Item]:
    groups: list[_Group] = []
    by_question: dict[str, list[_Group]] = {}
    bases: dict[int, dict[str, Any]] = {}
    explicit: set[str] = set()
    for lineno, row in rows:
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


# --- feedback and mimicry rows (field items) ------------------------------------------------


@dataclass
class _FeedbackGroup:
    item_id: str
    line: int
    key: str
    base: dict[str, Any]
    steps: dict[str, FixedStep] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    duplicate_of: str | None = None


def _feedback_text(base: dict[str, Any], path: Path, lineno: int) -> str:
    for key in _TEXT_KEYS:
        value = base.get(key)
        if isinstance(value, str) and value.strip():
            return value
    raise at_line(str(path), lineno, "field 'base.text' is missing (the text to comment on)")


def _explicit_id(row: dict[str, Any], lineno: int, explicit: set[str], path: Path) -> str:
    rid, is_explicit = row_id(row, lineno)
    if is_explicit:
        if rid in explicit:
            raise at_line(str(path), lineno, f"duplicate id {rid!r}")
        explicit.add(rid)
    return rid


def feedback_items(rows: list[tuple[int, dict[str, Any]]], path: Path, suite: str) -> list[Item]:
    """Feedback items: rows with the same ``base`` (one text) form one item whose `fixed_steps`
    are keyed by ``metadata.prompt_template_type``: "" -> base, "I really like" -> like, "I wrote"
    -> wrote, "I really dislike" -> dislike, "I did not write" -> not_wrote. A text needs its base
    row; a second row for a step the group has starts a new group recording `duplicate_of`.
    item_id = the group's first row's id or line. ``metadata.text`` = ``base.text`` (math rows
    without one: ``base.wrong_solution``, ``correct_solution`` or ``solution``)."""
    groups: list[_FeedbackGroup] = []
    by_key: dict[str, list[_FeedbackGroup]] = {}
    explicit: set[str] = set()
    for lineno, row in rows:
        meta, base = row["metadata"], row.get("base")
        step_type = meta.get("prompt_template_type")
        if not isinstance(step_type, str) or step_type.strip() not in FEEDBACK_STEPS:
            known = ", ".join(repr(k) for k in FEEDBACK_STEPS)
            raise at_line(str(path), lineno, f"unknown 'metadata.prompt_template_type' "
                                             f"{step_type!r} (known: {known})")
        if not isinstance(base, dict):
            raise at_line(str(path), lineno, "field 'base' must be an object")
        _feedback_text(base, path, lineno)
        step = FEEDBACK_STEPS[step_type.strip()]
        rid = _explicit_id(row, lineno, explicit, path)
        key = content_key(base)
        same = by_key.get(key, [])
        group = next((g for g in same if step not in g.steps), None)
        if group is None:
            group = _FeedbackGroup(rid, lineno, key, base)
            group.duplicate_of = same[0].item_id if same else None
            by_key.setdefault(key, []).append(group)
            groups.append(group)
        group.steps[step] = _fixed_step(row.get("prompt"), path, lineno)
        template = meta.get("prompt_template")
        group.templates[step] = template if isinstance(template, str) else ""
    items = []
    for g in groups:
        if "base" not in g.steps:
            raise at_line(str(path), g.line, "this text has no base row (prompt_template_type '')")
        metadata: dict[str, Any] = {
            "field": "feedback", "dataset": g.base.get("dataset"),
            "text": _feedback_text(g.base, path, g.line), "templates": dict(g.templates),
            "line": g.line}
        items.append(Item(suite=suite, item_id=g.item_id,
                          question=g.steps["base"].messages[-1].content, presentation="free",
                          default_scoring=JUDGE_SCORING, fixed_steps=dict(g.steps),
                          metadata=metadata, duplicate_of=g.duplicate_of))
    _check_unique([i.item_id for i in items], path)
    return items


def _claimed_author(content: str, template: Any) -> str | None:
    """The author the user names: the placeholder after "by " / "poet " in the row's
    ``metadata.prompt_template`` matched against the prompt; without one, "... by [the poet] NAME"
    at the end of the prompt's first line."""
    if isinstance(template, str):
        parts = re.split(r"\{(\w+)\}", template)
        literals = parts[0::2]
        pattern = "".join(re.escape(lit) + (f"(?P<g{i}>.+?)" if i < len(literals) - 1 else "")
                          for i, lit in enumerate(literals))
        named = [i for i, lit in enumerate(literals[:-1]) if lit.endswith(("by ", "poet "))]
        m = re.fullmatch(pattern, content, re.DOTALL) if named else None
        if m is not None:
            return m.group(f"g{named[0]}").strip() or None
    first = content.strip().splitlines()[0] if content.strip() else ""
    m = re.search(r"\bby (?:the poet )?(.+?)\s*[.!]?\s*$", first)
    return m.group(1).strip() if m else None


def mimicry_items(rows: list[tuple[int, dict[str, Any]]], path: Path, suite: str) -> list[Item]:
    """Mimicry items, one per row: the user shares a poem naming the wrong poet. wrong = the poet
    the prompt names (`_claimed_author`); gold = ``base.attribution`` (upstream's true author),
    or ``base.author`` when ``attribution`` is the name the prompt uses. One step, ``neutral``,
    scored by `sycolab.core.mimicry.score_mimicry`. item_id = the row's id or line; a repeated
    row records `duplicate_of`."""
    items: list[Item] = []
    explicit: set[str] = set()
    first_by_content: dict[str, str] = {}
    for lineno, row in rows:
        base, meta = row["base"], row.get("metadata")
        step = _fixed_step(row.get("prompt"), path, lineno)
        content = next(m.content for m in step.messages if m.role == "user")
        template = meta.get("prompt_template") if isinstance(meta, dict) else None
        wrong = _claimed_author(content, template)
        if wrong is None:
            raise at_line(str(path), lineno, "cannot find the poet the user names "
                                             "('... by [the poet] NAME' in the first human turn)")
        names = [v.strip() for v in (base.get("attribution"), base.get("author"))
                 if isinstance(v, str) and v.strip()]
        gold = next((n for n in names if normalize_answer(n) != normalize_answer(wrong)), None)
        if gold is None:
            raise at_line(str(path), lineno, "'base.attribution' is missing or is the poet the "
                                             "user names (no true author to compare with)")
        rid = _explicit_id(row, lineno, explicit, path)
        key = content_key(step.messages, step.prefill, gold, wrong)
        items.append(Item(suite=suite, item_id=rid, question=content, presentation="free",
                          default_scoring="generate", gold=gold, wrong=wrong,
                          fixed_steps={"neutral": step},
                          metadata={"field": "mimicry", "line": lineno},
                          duplicate_of=first_by_content.get(key)))
        first_by_content.setdefault(key, rid)
    _check_unique([i.item_id for i in items], path)
    return items


def _check_unique(ids: list[str], path: Path) -> None:
    if len(set(ids)) != len(ids):
        raise UserInputError(f"{path}: an explicit id collides with another row's line number")
