"""Paired comparison of two runs' survival curves (README, "Metrics", "Intervals").

Per (suite, multi-turn protocol) group present in both runs, trials are paired by
(suite, item_id, protocol). A pair is usable when both trials are flip-eligible
(`group_metrics.Trial.eligible`: no error, >= 2 steps, a baseline answer, no judge error); pairs
with an ineligible side are counted (``n_unusable``), keys in one run only are dropped and
counted (``n_only_a`` / ``n_only_b``).

For each challenge turn t: over the usable pairs whose trials both reached step t, the share of
A's trials still holding their baseline answer after t turns (every answer 0..t equals the
baseline, exactly as results.json ``survival``), the same for B, and the difference A - B with a
paired percentile bootstrap over items (`stats.bootstrap_ratio`). ``tof_mean``: the paired
difference of mean Turn of Flip (`group_metrics.tof`) over the usable pairs, for groups with more
than two steps (as results.json reports it). When every trial is eligible in both runs and the
keys pair completely, each side's shares equal its results.json survival values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any, cast

from sycolab.core.group_metrics import Trial, holds, parse_trial, proportion, tof
from sycolab.core.paired import paired_mean
from sycolab.core.protocols import PROTOCOLS
from sycolab.core.records import TrialRecord, latest_records
from sycolab.core.stats import CISettings

SURVIVAL_PROTOCOLS = frozenset(
    name for name, p in PROTOCOLS.items() if p.multi_turn and p.kind is None
)
"""Protocols compared by default: one conversation under pressure, answers with a gold-style
baseline (field stance protocols hold a synthetic stance and are measured in their own block)."""


def _group(
    suite: str, protocol: str, ta: dict[str, Trial], tb: dict[str, Trial], ci: CISettings
) -> dict[str, Any]:
    shared = set(ta) & set(tb)
    ids = sorted(shared)  # any fixed order: the bootstrap puts units in the contract's order
    usable = [i for i in ids if ta[i].eligible and tb[i].eligible]
    steps = max((len(t.answers) for i in usable for t in (ta[i], tb[i])), default=0)
    turns = []
    for s in range(1, steps):
        at = [i for i in usable if len(ta[i].answers) > s and len(tb[i].answers) > s]
        ha = [float(holds(ta[i], s)) for i in at]
        hb = [float(holds(tb[i], s)) for i in at]
        turns.append({"t": s, **paired_mean(at, ha, hb, ci),
                      "held_a": proportion(int(sum(ha)), len(at), ci.z),
                      "held_b": proportion(int(sum(hb)), len(at), ci.z)})
    tof_mean = None
    if steps > 2:
        tof_mean = paired_mean(usable, [float(tof(ta[i])) for i in usable],
                                [float(tof(tb[i])) for i in usable], ci)
    return {
        "suite": suite,
        "protocol": protocol,
        "steps": steps,
        "n_paired": len(shared),
        "n_usable": len(usable),
        "n_unusable": len(shared) - len(usable),
        "n_only_a": len(set(ta) - shared),
        "n_only_b": len(set(tb) - shared),
        "turns": turns,
        "tof_mean": tof_mean,
    }


def paired_survival(
    records_a: Iterable[Mapping[str, Any]],
    records_b: Iterable[Mapping[str, Any]],
    *,
    protocols: Collection[str] = SURVIVAL_PROTOCOLS,
    ci: CISettings | None = None,
) -> dict[str, Any]:
    """Compare the survival curves of run A and run B (differences A - B), per group.

    Records are `TrialRecord`s (plain dicts of that shape are accepted as read), reduced to the
    last record per trial_id. Only groups of `protocols` present in both runs are compared.
    Returns ``{"ci", "groups": [{suite, protocol, steps, n_paired, n_usable, n_unusable,
    n_only_a, n_only_b, "turns": [{t, value_a, value_b, difference, ci_low, ci_high, n,
    n_boot_dropped, held_a, held_b}], "tof_mean": {value_a, value_b, difference, ci_low,
    ci_high, n, n_boot_dropped} | None}]}``; ``held_a`` / ``held_b`` are the shares as
    {value, ci_low, ci_high, n} with Wilson intervals, ``n`` the usable pairs that reached t.
    """
    ci = ci or CISettings()
    runs: list[dict[tuple[str, str], dict[str, Trial]]] = [{}, {}]
    for run, records in zip(runs, (records_a, records_b), strict=True):
        for record in latest_records(records):
            t = parse_trial(cast(TrialRecord, record))
            if t.protocol in protocols:
                run.setdefault((t.suite, t.protocol), {})[t.item_id] = t
    groups = [_group(suite, protocol, runs[0][(suite, protocol)], runs[1][(suite, protocol)], ci)
              for suite, protocol in sorted(set(runs[0]) & set(runs[1]))]
    return {"ci": ci.as_dict(), "groups": groups}
