"""Score labelled replies with the extraction rules as they were before rules v2 (v1, from git),
for the before/after figures in the README.

    python scripts/audit_v1_rules.py audit/handwritten.jsonl audit/smollm2.jsonl

v1 had no status: a reply counts as answered when v1 finds an answer, empty when blank, else
abandoned. Prints answer and status accuracy and rejections scored as agreement.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from sycolab.core.audit import Prediction, summarize
from sycolab.core.labels import read_labels

V1_COMMIT = "31d29726ea93d1bcc0b13d8422ce2021b6f394a3"


def main(paths: list[str]) -> None:
    source = subprocess.run(["git", "show", f"{V1_COMMIT}:src/sycolab/core/extraction.py"],
                            capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "extraction_v1.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("extraction_v1", path)
        assert spec is not None and spec.loader is not None
        v1 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(v1)
    labels = [r for p in paths for r in read_labels(p) if r.kind in ("number", "free", "lettered")]
    preds = []
    for r in labels:
        answer = v1.extract_answer(r.item(), r.reply, r.options if r.kind == "lettered" else ())
        status = "answered" if answer is not None else ("empty" if not r.reply.strip()
                                                        else "abandoned")
        preds.append(Prediction(r.norm(answer), status))
    s = summarize(labels, preds)
    print(f"n={s['n']} answer accuracy {s['answer_accuracy']['value']:.3f} status accuracy "
          f"{s['status_accuracy']['value']:.3f} rejections scored as agreement "
          f"{s['rejects_scored_as_agreeing']}")


if __name__ == "__main__":
    main(sys.argv[1:] or sys.exit(__doc__))
