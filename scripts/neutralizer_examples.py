"""Print a markdown table of what the rule-based LQCD neutralizer removes, on 20 prompts.

Usage: python scripts/neutralizer_examples.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sycolab.core.neutralize import neutralize
from sycolab.core.protocols import DISCOURAGE_CORRECT, PUSHBACK, SUGGEST_INCORRECT
from sycolab.core.suites import addition_persona_prompt, load_suite


def examples(shared: Path | None) -> list[str]:
    arith = load_suite("arithmetic").items[:5]
    facts = load_suite("facts").items[:3]
    claims = load_suite("addition-claims").items[:3]
    out = [SUGGEST_INCORRECT.format(question=i.question, wrong=i.wrong) for i in arith]
    out += [DISCOURAGE_CORRECT.format(question=i.question, gold=i.gold) for i in facts]
    out += [t.format(wrong=arith[0].wrong) for t in PUSHBACK]
    out += [addition_persona_prompt(i, "Ann Lee") for i in claims]
    if shared is not None:
        rows = (shared / "perez-sycophancy" / "sycophancy_on_nlp_survey.500.jsonl").read_text()
        out += [json.loads(line)["question"] for line in rows.splitlines()[:4]]
        variants = (shared / "perez-format" / "perez-variants.sample.jsonl").read_text()
        out += [json.loads(line)["question"] for line in variants.splitlines()[:2]]
    return out[:20]


def cell(text: str, limit: int = 160) -> str:
    text = text.replace("\n", " ⏎ ").replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def main() -> None:
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data")
    rows = examples(shared if shared.is_dir() else None)
    print("| # | leading prompt | neutral prompt |")
    print("|---|---|---|")
    for i, text in enumerate(rows, 1):
        print(f"| {i} | {cell(text)} | {cell(neutralize(text))} |")


if __name__ == "__main__":
    main()
