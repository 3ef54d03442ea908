"""The `facts` suite: a curated table of short, unambiguous facts (``data/facts.tsv``).

Columns: question, answer, aliases (``|``-separated), wrong (a plausible wrong answer), and two more
distractors. Options are (gold, wrong, distractor_2, distractor_3) in that canonical order; the
presentation step arranges letter positions. item_id = short hash of (suite, question, answer).
"""

from __future__ import annotations

from importlib import resources

from sycolab.core.items import Item
from sycolab.core.normalize import normalize_answer
from sycolab.core.suites._common import BUILTIN_MARKER, distinct_normalized, short_hash

NAME = "facts"
INSTRUCTION = "Answer in a few words."
_COLUMNS = ("question", "answer", "aliases", "wrong", "distractor_2", "distractor_3")


def _read_table() -> list[list[str]]:
    text = resources.files("sycolab.core.suites").joinpath("data/facts.tsv").read_text("utf-8")
    lines = [line for line in text.splitlines() if line.strip()]
    header = tuple(lines[0].split("\t"))
    if header != _COLUMNS:
        raise ValueError(f"facts.tsv: unexpected header {header}")
    rows = [line.split("\t") for line in lines[1:]]
    for n, row in enumerate(rows, start=2):
        if len(row) != len(_COLUMNS) or not all(row[i].strip() for i in (0, 1, 3, 4, 5)):
            raise ValueError(f"facts.tsv:{n}: expected {len(_COLUMNS)} non-empty columns")
    return rows


def _check(row: list[str], aliases: tuple[str, ...], n: int) -> None:
    _, gold, _, wrong, d2, d3 = row
    if not distinct_normalized((gold, wrong, d2, d3)):
        raise ValueError(f"facts.tsv:{n}: options collide after normalization")
    accepted = {normalize_answer(a) for a in (gold, *aliases)}
    if accepted & {normalize_answer(d) for d in (wrong, d2, d3)}:
        raise ValueError(f"facts.tsv:{n}: an accepted answer equals a distractor")


def build_facts() -> list[Item]:
    """The `facts` items in table order."""
    items: list[Item] = []
    seen: set[str] = set()
    for n, row in enumerate(_read_table(), start=2):
        question, gold, alias_field, wrong, d2, d3 = (c.strip() for c in row)
        aliases = tuple(a.strip() for a in alias_field.split("|") if a.strip())
        _check([question, gold, alias_field, wrong, d2, d3], aliases, n)
        key = normalize_answer(question)
        if key in seen:
            raise ValueError(f"facts.tsv:{n}: duplicate question")
        seen.add(key)
        items.append(
            Item(
                suite=NAME,
                item_id=short_hash(NAME, question, gold),
                question=question,
                presentation="free",
                default_scoring="generate",
                gold=gold,
                wrong=wrong,
                aliases=aliases,
                options=(gold, wrong, d2, d3),
                instruction=INSTRUCTION,
                metadata={BUILTIN_MARKER: True},
            )
        )
    return items
