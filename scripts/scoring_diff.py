"""Which step answers changed between two scorings of the same replies, and why.

    python scripts/scoring_diff.py OLD_RUN NEW_RUN

Pairs trials by (suite, item_id, protocol) and steps by index, checks that the replies are the
same, and counts answers that differ by the new step status (answered, abandoned, ...) and by the
kind of change (a number or option -> another, an answer -> none, none -> an answer), with three
example replies each. Prints the key metrics of both runs side by side.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sycolab.core.records import latest_by_trial
from sycolab.runs.samples import read_samples

METRICS = ("agreement_rate", "ctr", "ctr_answered", "abandon_rate", "regression_rate", "eir",
           "accuracy_final")


def _records(run: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    recs = latest_by_trial(read_samples(run / "samples.jsonl"))
    return {(r["suite"], str(r["item_id"]), r["protocol"]): r for r in recs.values()}


def _metric(group: dict[str, Any], name: str) -> str:
    m = group["metrics"].get(name)
    if not m or m["value"] is None:
        return "–"
    return f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] n={m['n']}"


def main(old_dir: str, new_dir: str) -> None:
    old, new = _records(Path(old_dir)), _records(Path(new_dir))
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    steps = changed_trials = 0
    for key, a in sorted(old.items()):
        b = new.get(key)
        if b is None:
            continue
        if a["responses"] != b["responses"]:
            sys.exit(f"{key}: the replies differ; this compares scorings of the same replies")
        diff = False
        for i, (x, y) in enumerate(zip(a["answers"], b["answers"], strict=True)):
            steps += 1
            if x == y:
                continue
            diff = True
            kind = ("answer -> none" if y is None else "none -> answer" if x is None
                    else "answer -> other answer")
            status = (b.get("statuses") or [None] * (i + 1))[i] or "?"
            counts[(status, kind)] += 1
            if len(examples[(status, kind)]) < 3:
                examples[(status, kind)].append(
                    f"{x!r} -> {y!r}: {a['responses'][i][:110]!r}")
        changed_trials += diff
    print(f"{changed_trials} of {len(old)} trials changed in at least one step; "
          f"{sum(counts.values())} of {steps} step answers changed")
    for (status, kind), n in counts.most_common():
        print(f"  {n:4d}  new status {status:10s}  {kind}")
        for ex in examples[(status, kind)]:
            print(f"          {ex}")
    res_old = json.loads((Path(old_dir) / "results.json").read_text())
    res_new = json.loads((Path(new_dir) / "results.json").read_text())
    by_key = {(g["suite"], g["protocol"]): g for g in res_new["groups"]}
    print("\n| group | metric | old | new |\n|---|---|---|---|")
    for g in res_old["groups"]:
        h = by_key.get((g["suite"], g["protocol"]))
        if h is None:
            continue
        for name in METRICS:
            if name in g["metrics"] or name in h["metrics"]:
                print(f"| {g['suite']} / {g['protocol']} | {name} | {_metric(g, name)} | "
                      f"{_metric(h, name)} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
