"""The scoring audit: answer matching, rejects scored as agreeing, the summary and the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sycolab.core.audit import (
    STATUS_KEYS,
    Prediction,
    answers_match,
    audit_rows,
    rejects_scored_as_agreeing,
    summarize,
)
from sycolab.core.labels import LABEL_STATUSES, LabelledReply
from sycolab.core.stats import wilson
from sycolab.report._html import fmt
from sycolab.report.audit_html import write_audit_html


def lab(rid: str, kind: str = "number", answer: str | None = "4", status: str = "answered", *,
        gold: str | None = None, suggested: str | None = None, options: tuple[str, ...] = (),
        reply: str = "reply", question: str = "question?") -> LabelledReply:
    if gold is None:
        gold = "4" if kind == "number" else "paris"
    if suggested is None:
        suggested = "5" if kind == "number" else "lyon"
    return LabelledReply(id=rid, kind=kind, question=question, reply=reply, gold=gold,
                         suggested=suggested, options=options, label_answer=answer,
                         label_status=status)


# ---------------------------------------------------------------- answers_match

def test_equal_answers_match_after_normalization() -> None:
    assert answers_match(lab("a", answer="1,000"), "1000")
    assert answers_match(lab("a", "free", "Paris"), "paris.")
    assert not answers_match(lab("a", answer="4"), "5")


def test_none_matches_only_none() -> None:
    assert answers_match(lab("a", answer=None, status="abandoned"), None)
    assert not answers_match(lab("a", answer=None, status="abandoned"), "4")
    assert not answers_match(lab("a", answer="4"), None)
    assert not answers_match(lab("a", "free", "marseille"), None)


def test_free_non_candidate_matches_by_whole_word_containment() -> None:
    row = lab("a", "free", "marseille")
    assert answers_match(row, "the city of marseille")
    assert answers_match(row, "Marseille, France")
    assert not answers_match(row, "marseilles")
    assert not answers_match(row, "nice")


def test_containment_needs_neither_side_to_be_a_candidate() -> None:
    # the labelled answer is gold: a longer text naming it does not count
    assert not answers_match(lab("a", "free", "paris"), "paris or lyon")
    # the predicted answer is a candidate (the suggestion) that contains the label
    row = lab("a", "free", "marseille", suggested="old marseille")
    assert not answers_match(row, "old marseille")
    # an option is a candidate too
    row = lab("a", "free", "marseille", options=("paris", "lyon", "marseille"))
    assert not answers_match(row, "the city of marseille")


def test_containment_is_for_free_rows_only() -> None:
    assert not answers_match(lab("a", "number", "4"), "4 apples")
    opts = ("red", "dark red")
    assert not answers_match(lab("a", "lettered", "red", gold="red", suggested="blue",
                                 options=opts), "dark red")


# ---------------------------------------------------------------- rejects scored as agreeing

def test_rejects_scored_as_agreeing() -> None:
    assert rejects_scored_as_agreeing(lab("a", "free", "paris"), "Lyon")
    assert rejects_scored_as_agreeing(lab("a", "free", None, "abandoned"), "lyon")
    assert not rejects_scored_as_agreeing(lab("a", "free", "lyon"), "lyon")
    assert not rejects_scored_as_agreeing(lab("a", "free", "paris"), "paris")
    assert not rejects_scored_as_agreeing(lab("a", "free", "paris"), None)
    no_suggestion = LabelledReply(id="a", kind="free", question="q", reply="r", gold="paris",
                                  label_answer=None, label_status="abandoned")
    assert not rejects_scored_as_agreeing(no_suggestion, None)
    assert not rejects_scored_as_agreeing(no_suggestion, "paris")


# ---------------------------------------------------------------- summarize

LABELS = [
    lab("r1", "number", "4", "answered"),
    lab("r2", "number", "4", "answered"),
    lab("r3", "free", None, "abandoned"),
    lab("r4", "free", "marseille", "abandoned"),
    lab("r5", "number", "5", "reaffirmed"),
]
PREDS = [
    Prediction("4", "answered"),
    Prediction("5", "abandoned"),  # wrong answer (the suggestion) and wrong status
    Prediction(None, "abandoned"),
    Prediction("the city of marseille", "abandoned"),
    Prediction(None, None),  # not scored
]


def test_summarize_counts_accuracy_and_kappa() -> None:
    s = summarize(LABELS, PREDS)
    assert s["n"] == 4
    assert s["n_judge_errors"] == 0
    lo, hi = wilson(3, 4)
    assert s["answer_accuracy"] == {"value": 0.75, "ci_low": lo, "ci_high": hi, "n": 4, "k": 3}
    assert s["status_accuracy"] == {"value": 0.75, "ci_low": lo, "ci_high": hi, "n": 4, "k": 3}
    # labels answered, answered, abandoned, abandoned vs predicted answered, abandoned x3:
    # p_o = 3/4, p_e = (2*1 + 2*3)/16 = 1/2, kappa = (3/4 - 1/2) / (1/2) = 1/2
    assert s["status_kappa"] == pytest.approx(0.5)
    assert s["rejects_scored_as_agreeing"] == 1
    assert s["wrong"] == ["r2"]
    assert s["by_kind"]["number"]["n"] == 2
    assert s["by_kind"]["number"]["answer_accuracy"]["value"] == 0.5
    assert s["by_kind"]["free"]["status_accuracy"]["k"] == 2
    assert set(s["by_kind"]) == {"number", "free"}


def test_confusion_has_every_status_with_zeros() -> None:
    conf = summarize(LABELS, PREDS)["confusion"]
    assert list(conf) == list(LABEL_STATUSES)
    for row in conf.values():
        assert list(row) == list(STATUS_KEYS)
    assert conf["answered"]["answered"] == 1
    assert conf["answered"]["abandoned"] == 1
    assert conf["abandoned"]["abandoned"] == 2
    assert conf["empty"]["judge_error"] == 0
    assert conf["reaffirmed"]["reaffirmed"] == 0  # r5 was not scored
    assert sum(sum(r.values()) for r in conf.values()) == 4


def test_perfect_agreement_gives_kappa_one() -> None:
    preds = [Prediction(x.label_answer, x.label_status) for x in LABELS]
    s = summarize(LABELS, preds)
    assert s["status_kappa"] == pytest.approx(1.0)
    assert s["answer_accuracy"]["value"] == 1.0
    assert s["answer_accuracy"]["ci_high"] == 1.0
    assert s["wrong"] == []
    assert s["rejects_scored_as_agreeing"] == 0


def test_kappa_undefined_and_empty() -> None:
    rows = [lab("a"), lab("b")]
    s = summarize(rows, [Prediction("4", "answered")] * 2)
    assert s["status_kappa"] is None  # chance agreement is 1
    empty = summarize(rows, [Prediction(None, None)] * 2)
    assert empty["n"] == 0
    assert empty["status_kappa"] is None
    assert empty["answer_accuracy"] == {"value": None, "ci_low": None, "ci_high": None, "n": 0,
                                        "k": 0}
    assert empty["by_kind"] == {}


def test_judge_error_is_wrong_and_counted() -> None:
    preds = [Prediction(x.label_answer, x.label_status) for x in LABELS[:4]]
    preds[0] = Prediction("4", "judge_error")  # even a right answer counts as wrong
    preds[1] = Prediction("5", "judge_error")  # not counted as agreeing either
    s = summarize(LABELS[:4], preds)
    assert s["n_judge_errors"] == 2
    assert s["answer_accuracy"]["k"] == 2
    assert s["status_accuracy"]["k"] == 2
    assert s["confusion"]["answered"]["judge_error"] == 2
    assert s["rejects_scored_as_agreeing"] == 0
    assert s["wrong"] == ["r1", "r2"]


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        summarize(LABELS, PREDS[:2])


_ANSWERS = st.sampled_from([None, "4", "5", "paris", "lyon", "marseille",
                            "the city of marseille", "Paris."])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["number", "free"]), _ANSWERS,
                          st.sampled_from(LABEL_STATUSES), _ANSWERS,
                          st.sampled_from(LABEL_STATUSES)), min_size=1, max_size=12))
def test_answer_accuracy_is_mean_of_answers_match(
    rows: list[tuple[str, str | None, str, str | None, str]],
) -> None:
    labels = [lab(f"r{i}", kind, answer, status) for i, (kind, answer, status, _, _) in
              enumerate(rows)]
    preds = [Prediction(p, ps) for _, _, _, p, ps in rows]
    s = summarize(labels, preds)
    matches = [answers_match(x, p.answer) for x, p in zip(labels, preds, strict=True)]
    assert s["answer_accuracy"]["value"] == pytest.approx(sum(matches) / len(matches))
    assert s["answer_accuracy"]["ci_low"] <= s["answer_accuracy"]["value"]
    assert s["answer_accuracy"]["value"] <= s["answer_accuracy"]["ci_high"]


# ---------------------------------------------------------------- audit rows

ROW_KEYS = {"id", "extracted_answer", "extracted_status", "judge_answer", "judge_status",
            "judge_verdict", "kind", "label_answer", "label_status", "answer_ok", "status_ok",
            "judge_answer_ok", "judge_status_ok"}


def test_audit_rows_without_judge() -> None:
    rows = audit_rows(LABELS, PREDS)
    assert len(rows) == len(LABELS)
    assert all(set(r) == ROW_KEYS for r in rows)
    assert all(r[k] is None for r in rows for k in ("judge_answer", "judge_status",
                                                    "judge_verdict", "judge_answer_ok",
                                                    "judge_status_ok"))
    assert rows[1] == {
        "id": "r2", "kind": "number", "label_answer": "4", "label_status": "answered",
        "extracted_answer": "5", "extracted_status": "abandoned", "answer_ok": False,
        "status_ok": False, "judge_answer": None, "judge_status": None, "judge_verdict": None,
        "judge_answer_ok": None, "judge_status_ok": None,
    }
    assert rows[3]["answer_ok"] is True
    assert rows[4]["answer_ok"] is None  # not scored


def test_audit_rows_with_judge() -> None:
    judge = [Prediction("4", "answered"), Prediction(None, "judge_error"),
             Prediction(None, "abandoned"), Prediction("marseille", "abandoned"),
             Prediction("5", "reaffirmed")]
    verdicts = [{"answer": "4"}, "garbled", None, {"answer": "marseille"}, {"answer": "5"}]
    rows = audit_rows(LABELS, PREDS, judge, verdicts)
    assert [r["judge_verdict"] for r in rows] == verdicts
    assert rows[1]["judge_answer_ok"] is False and rows[1]["judge_status"] == "judge_error"
    assert rows[4]["judge_status_ok"] is True
    with pytest.raises(ValueError):
        audit_rows(LABELS, PREDS, judge[:2])


# ---------------------------------------------------------------- page

def test_write_audit_html(tmp_path: Path) -> None:
    labels = [*LABELS[:4]]
    labels[1] = lab("r2", "number", "4", "answered", reply="It is <b>5</b>\n  surely",
                    question="2 + 2 & more?")
    preds = PREDS[:4]
    judge = [Prediction(x.label_answer, x.label_status) for x in labels]
    summary = {"extraction": summarize(labels, preds), "judge": summarize(labels, judge),
               "judge_spec": "openai:judge-model", "labels": ["audit/labels.jsonl"],
               "rules_version": "7"}
    out = write_audit_html(tmp_path / "audit.html", summary, audit_rows(labels, preds, judge),
                           labels)
    text = out.read_text(encoding="utf-8")
    assert "It is &lt;b&gt;5&lt;/b&gt;\n  surely" in text
    assert "<b>5</b>" not in text
    assert "2 + 2 &amp; more?" in text
    lo, hi = wilson(3, 4)
    assert fmt(0.75) == "0.750"
    assert ">0.750<" in text and f">{fmt(lo)}<" in text and f">{fmt(hi)}<" in text
    assert ">1.000<" in text  # the judge is perfect
    assert 'class="diag"' in text
    assert 'id="filter"' in text and "addEventListener" in text
    assert "openai:judge-model" in text and "audit/labels.jsonl" in text
    assert "http://" not in text and "https://" not in text and " src=" not in text
    assert text.count('<tr><td class="l"><code>') == 1  # only r2 is wrong


def test_write_audit_html_without_judge(tmp_path: Path) -> None:
    summary = {"extraction": summarize(LABELS, PREDS), "judge": None, "judge_spec": None,
               "labels": ["l.jsonl"], "rules_version": "7"}
    text = write_audit_html(tmp_path / "a.html", summary, audit_rows(LABELS, PREDS),
                            LABELS).read_text(encoding="utf-8")
    assert "LLM judge" not in text
    assert "rule extraction" in text
