"""The run report's field benchmark section and paired comparisons: every number traces back to
results.json, each kind gets its plots, and the registry knows the field metric names."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_report import check_numbers

from sycolab.core.field_metrics import field_metric_doc, field_metric_docs
from sycolab.core.metric_registry import METRICS, arrow, better_sign, direction_text, metric
from sycolab.report import render_run_report, write_run_report
from sycolab.report.svg import Point, Series, forest
from sycolab.workflows import evaluate

REPO = Path(__file__).resolve().parents[2]


def m(value: float | None, lo: float | None, hi: float | None, n: int, **extra: Any
      ) -> dict[str, Any]:
    return {"value": value, "ci_low": lo, "ci_high": hi, "n": n, **extra}


def stance(protocol: str, held: list[float]) -> dict[str, Any]:
    """A stance group whose survival values are `held` (reply 1..k)."""
    k = len(held)
    metrics = {"tof_mean": m(1.625, 1.125, 2.25, 8, n_boot_dropped=0),
               "nof_mean": m(0.875, 0.5, 1.25, 8, n_boot_dropped=0),
               "held_all": m(held[-1], 0.0, 0.324, 8)}
    metrics |= {f"hold_rate_turn_{t + 1}": m(0.125 * (8 - t), 0.4, 1.0, 8) for t in range(k)}
    return {
        "suite": "sycon-debate", "protocol": protocol, "n": 8, "n_errors": 0, "metrics": {},
        "field": {"kind": "stance", "judge": "openai:gpt-4o", "n": 8, "n_errors": 0,
                  "n_judge_errors": 2, "n_excluded": 1, "k": k,
                  "survival": [m(v, max(v - 0.3, 0.0), min(v + 0.2, 1.0), 8) | {"t": t + 1}
                               for t, v in enumerate(held)],
                  "label_counts": {"changed": 9, "holds": 13, "unclear": 2},
                  "metrics": metrics},
    }


FEEDBACK = {
    "suite": "feedback.sample", "protocol": "feedback", "n": 5, "metrics": {},
    "field": {"kind": "feedback", "judge": "mock:judge", "n": 5, "n_errors": 0,
              "n_judge_errors": 1, "n_excluded": 0,
              "n_judge_errors_by_template": {"like": 1, "wrote": 0, "dislike": 0, "not_wrote": 0},
              "metrics": {
                  "positivity_shift_like": m(0.375, 0.125, 0.625, 4, n_boot_dropped=0),
                  "positivity_shift_wrote": m(0.2, -0.1, 0.5, 5, n_boot_dropped=0),
                  "positivity_shift_dislike": m(-0.6, -0.9, -0.3, 5, n_boot_dropped=0),
                  "positivity_shift_not_wrote": m(-0.1, -0.4, 0.2, 5, n_boot_dropped=0),
                  "more_positive_rate_like": m(0.5, 0.15, 0.85, 4),
                  "position_disagreement_like": m(0.25, 0.046, 0.699, 4)}},
}
OEQ = {
    "suite": "OEQ_sample", "protocol": "social", "n": 8, "metrics": {},
    "field": {"kind": "social", "judge": "mock:judge", "n": 8, "n_errors": 1,
              "n_judge_errors": 0, "n_excluded": 0,
              "metrics": {
                  "emotional_validation_rate": m(0.571, 0.25, 0.842, 7),
                  "emotional_validation_minus_human": m(
                      0.286, -0.143, 0.714, 7, n_boot_dropped=0, model_rate=0.571,
                      reference_rate=0.286),
                  "accept_framing_rate": m(0.857, 0.487, 0.974, 7)}},
}
AITA = {
    "suite": "AITA_sample", "protocol": "social", "n": 8, "metrics": {},
    "field": {"kind": "social", "judge": "mock:judge", "n": 8, "n_errors": 0,
              "n_judge_errors": 0, "n_excluded": 0,
              "metrics": {
                  "endorsement_rate": m(0.75, 0.409, 0.929, 8),
                  "false_endorsement_rate": m(0.667, 0.208, 0.939, 3),
                  "endorsement_minus_community": m(0.125, -0.25, 0.5, 8, n_boot_dropped=0,
                                                   model_rate=0.75, reference_rate=0.625)}},
}
MIMICRY = {
    "suite": "mimicry.sample", "protocol": "mimicry", "n": 8, "metrics": {},
    "field": {"kind": "mimicry", "judge": None, "n": 8, "n_errors": 0, "n_judge_errors": 0,
              "n_excluded": 0,
              "metrics": {"repeats_wrong_rate": m(0.625, 0.306, 0.863, 8),
                          "corrects_rate": m(0.25, 0.071, 0.591, 8),
                          "no_attribution_rate": m(0.125, 0.022, 0.471, 8)}},
}
PLAIN = {
    "suite": "arithmetic", "protocol": "are-you-sure", "n": 10, "n_errors": 0, "n_excluded": 0,
    "steps": 2, "letter_bias": None,
    "metrics": {"ctr": m(0.3, 0.108, 0.603, 10), "accuracy_baseline": m(0.7, 0.397, 0.892, 10)},
}
CROSS = [
    {"suite": "sycon-debate", "pressure": "sycon-andrew", "control": "sycon-base",
     "metric": "ctr", **m(-0.25, -0.5, 0.0, 8), "value_pressure": 0.5, "value_control": 0.75},
    {"suite": "arithmetic", "pressure": "rebuttal-ethos", "control": "rebuttal-simple",
     "metric": "progressive", **m(0.125, 0.0, 0.25, 8), "value_pressure": 0.5,
     "value_control": 0.375},
    {"suite": "arithmetic", "pressure": "are-you-sure", "control": "reask",
     "metric": "regression_rate", **m(0.2, 0.0, 0.4, 10), "value_pressure": 0.3,
     "value_control": 0.1},
]
CONFIG = {
    "model": "mock:sycophant", "config_hash": "abc",
    "hashed": {"field_judges": {"stance": {"spec": "openai:gpt-4o", "mode": "generate"},
                                "pairwise": {"spec": "mock:judge", "mode": "logprob"},
                                "social": {"spec": "mock:judge", "mode": "generate"}}},
}


def record(g: dict[str, Any], i: int) -> dict[str, Any]:
    kind = g["field"]["kind"] if "field" in g else None
    return {"trial_id": f"{g['suite']}-{g['protocol']}-{i}", "suite": g["suite"],
            "item_id": str(i), "protocol": g["protocol"], "gold": "holds", "suggested": None,
            "conditions": ["stance", "turn_1"], "answers": ["holds", "yields"],
            "statuses": ["answered", "answered"], "responses": ["", "You are right."],
            "error": None, "field": {"kind": kind} if kind else None}


def write_run(path: Path, groups: list[dict[str, Any]], cross: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    path.mkdir(parents=True)
    results = {"ci": {"method": "wilson+bootstrap"}, "groups": groups,
               "cross_protocol": cross or [], "side_effects": None}
    (path / "results.json").write_text(json.dumps(results))
    (path / "config.json").write_text(json.dumps(CONFIG))
    (path / "samples.jsonl").write_text(
        "".join(json.dumps(record(g, i)) + "\n" for g in groups for i in range(2)))
    return results


def section(page: str, ident: str) -> str:
    found = re.search(rf'<section id="{ident}".*?</section>', page, re.DOTALL)
    assert found is not None, ident
    return found.group(0)


def svg(page: str, aria: str) -> str:
    found = re.search(rf'<svg[^>]*aria-label="{re.escape(aria)}".*?</svg>', page, re.DOTALL)
    assert found is not None, aria
    return found.group(0)


def test_every_field_number_traces_to_results_json(tmp_path: Path) -> None:
    groups = [stance("sycon-andrew", [0.875, 0.5, 0.25]), stance("sycon-base", [0.75, 0.25, 0.0]),
              FEEDBACK, OEQ, AITA, MIMICRY, PLAIN]
    results = write_run(tmp_path / "run", groups, CROSS)
    page = write_run_report(tmp_path / "run").read_text()
    assert check_numbers(page, results) > 150
    field = section(page, "field")
    assert "<h2>Field benchmarks</h2>" in field and 'href="#field"' in page
    for gi, g in enumerate(groups[:-1]):
        base = f"groups/{gi}/field"
        for name, metric_ in g["field"]["metrics"].items():
            assert f'data-src="{base}/metrics/{name}/value"' in field, name
            if metric_.get("ci_low") is not None:
                assert f'data-src="{base}/metrics/{name}/ci_low"' in field, name
            doc = field_metric_doc(name)
            assert doc is not None
            assert html_lib.escape(doc["denominator"]) in field, name
            assert html_lib.escape(direction_text(name)) in field, name
        assert f'data-src="{base}/n"' in field
    # judges with their mode and parse failures (per template for feedback)
    assert "<code>openai:gpt-4o</code> (<code>generate</code>)" in field
    assert 'data-src="groups/0/field/n_judge_errors"' in field
    assert 'data-src="groups/2/field/n_judge_errors_by_template/like"' in field
    assert 'data-src="groups/0/field/label_counts/unclear"' in field
    assert "scored by rule, no judge" in field
    # paired social rates are shown with their reference
    assert 'data-src="groups/3/field/metrics/emotional_validation_minus_human/reference_rate"' \
        in field
    assert 'data-src="groups/4/field/metrics/endorsement_minus_community/model_rate"' in field
    # field groups stay out of the tables made for gold answers
    headline = section(page, "headline")
    assert 'data-src="groups/6/metrics/ctr/value"' in headline
    assert not re.search(r'data-src="groups/[0-5]/', headline)
    assert 'data-series="sycon-base"' not in section(page, "plots")


def test_each_kind_gets_its_plots(tmp_path: Path) -> None:
    groups = [stance("sycon-andrew", [0.875, 0.5, 0.25]), stance("sycon-base", [0.75, 0.25, 0.0]),
              FEEDBACK, OEQ, AITA, MIMICRY]
    write_run(tmp_path / "run", groups)
    page = render_run_report(tmp_path / "run")
    # stance: both prompt variants on one survival plot (start + 3 replies each) and hold rates
    surv = svg(page, "stance survival curves")
    for protocol in ("sycon-andrew", "sycon-base"):
        assert f'data-series="{protocol}"' in surv
    assert surv.count("<circle") == 2 * 4 and surv.count("<polygon") == 2
    assert 'data-src="- groups/1/field/survival/2/t groups/1/field/survival/2/value' in surv
    hold = svg(page, "hold rate per reply")
    assert hold.count("<circle") == 2 * 3
    assert "groups/0/field/metrics/hold_rate_turn_3/value" in hold
    # feedback: four templates around a dashed zero line
    fb = svg(page, "feedback positivity shift per template")
    assert fb.count("<circle") == 4 and "stroke-dasharray" in fb
    assert "groups/2/field/metrics/positivity_shift_dislike/ci_high" in fb
    # social: model beside humans (paired, joined), the paired difference, a label without
    # human ratings shows the model alone
    oeq = svg(page, "social rates, social")
    assert oeq.count("<circle") == 3 and 'data-static="pair"' in oeq
    assert "groups/3/field/metrics/accept_framing_rate/ci_low" in oeq
    diff = svg(page, "social paired differences, social")
    assert diff.count("<circle") == 1
    assert "groups/3/field/metrics/emotional_validation_minus_human/ci_high" in diff
    assert "groups/4/field/metrics/endorsement_minus_community/value" in page
    assert "community verdict" in page
    # mimicry: three rates
    mim = svg(page, "mimicry rates")
    assert mim.count("<circle") == 3
    assert "groups/5/field/metrics/no_attribution_rate/value" in mim


def test_empty_field_groups_render_without_plots(tmp_path: Path) -> None:
    empty = stance("sycon-base", [0.5])
    empty["field"] |= {"survival": [], "n": 0, "n_judge_errors": 0, "n_excluded": 0,
                       "metrics": {"tof_mean": m(None, None, None, 0, n_boot_dropped=0)}}
    results = write_run(tmp_path / "run", [empty])
    page = render_run_report(tmp_path / "run")
    assert check_numbers(page, results) > 0
    assert "<svg" not in section(page, "field")
    assert 'id="headline"' not in page


def test_cross_rows_name_their_comparison_and_direction(tmp_path: Path) -> None:
    write_run(tmp_path / "run", [PLAIN], CROSS)
    cross = section(render_run_report(tmp_path / "run"), "cross")
    assert "Paired protocol comparisons" in cross and "re-ask control</h2>" not in cross
    rows = re.findall(r"<tr>.*?</tr>", cross.split("<tbody>")[1], re.DOTALL)
    assert len(rows) == 3
    assert "prompt variant vs base prompt" in rows[0] and "↓ lower is better" in rows[0]
    assert "rebuttal rung vs simple rebuttal" in rows[1]
    assert html_lib.escape(direction_text("progressive")) in rows[1]
    assert "lower is better" not in rows[1]
    assert "pressure vs the re-ask control" in rows[2]


def test_registry_knows_field_metrics_and_keeps_its_own() -> None:
    for name in [*field_metric_docs(), "hold_rate_turn_4"]:
        if name.endswith("<k>"):
            continue
        entry = metric(name)
        assert entry is not None and entry.denominator, name
        doc = field_metric_doc(name)
        assert doc is not None
        if name in METRICS:  # registry entries win
            assert entry is METRICS[name]
            continue
        assert entry.direction == doc["direction"] and entry.label == doc["label"], name
        assert better_sign(name) == {"higher_is_better": 1, "lower_is_better": -1}.get(
            entry.direction, 0)
    assert arrow("positivity_shift_like") == "↓" and arrow("positivity_shift_dislike") == "↑"
    assert arrow("corrects_rate") == "↑" and arrow("no_attribution_rate") == ""
    turn = metric("hold_rate_turn_4")
    assert turn is not None and "at least 4" in turn.denominator
    assert metric("no_such_metric") is None and direction_text("no_such_metric") == ""
    assert metric("tof_mean") is METRICS["tof_mean"]


def test_forest_rows_reference_line_and_pairs() -> None:
    a = Series("model", [Point(0.8, 0.0, title="a", src="x"), Point(0.2, 1.0, x_lo=0.1,
                                                                      x_hi=0.3)])
    b = Series("human", [Point(0.5, 0.0)])
    out = forest([a, b], rows=["first label", "second"], x_label="share", ref=0.5,
                 connect=True, aria="t")
    assert out.count("<circle") == 3 and out.count('data-static="pair"') == 1
    assert "first label" in out and "stroke-dasharray" in out
    assert 'fill="#fff"' in out  # the second series of a pair is drawn as rings
    assert '<title data-src="x">a</title>' in out


@pytest.mark.parametrize("suite", ["feedback.sample.jsonl", "mimicry.sample.jsonl"])
def test_real_run_report(tmp_path: Path, suite: str) -> None:
    judge = "mock:judge" if suite.startswith("feedback") else None
    evaluate("mock:sycophant", suite=[f"sycophancy-eval:{REPO}/tests/data/sycophancy-eval/{suite}"],
             judge=judge, limit=4, max_new_tokens=32, out=tmp_path / "run", progress=False)
    page = write_run_report(tmp_path / "run").read_text()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert check_numbers(page, results) > 20
    assert "<svg" in section(page, "field")


def test_real_sycon_report(tmp_path: Path, shared_data: Path) -> None:
    evaluate("mock:sycophant", suite=[f"sycon:{shared_data / 'sycon-bench'}@debate"],
             protocol=["sycon-base", "sycon-andrew"], judge="mock:judge", limit=3,
             max_new_tokens=32, out=tmp_path / "run", progress=False)
    page = write_run_report(tmp_path / "run").read_text()
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert check_numbers(page, results) > 50
    surv = svg(page, "stance survival curves")
    assert 'data-series="sycon-base"' in surv and 'data-series="sycon-andrew"' in surv
    assert "prompt variant vs base prompt" in section(page, "cross")
