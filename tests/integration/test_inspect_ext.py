"""The Inspect extension against an installed copy of sycolab (Inspect namespaces only installed
packages): `sycolab/<protocol>` tasks on Inspect's mockllm model and, through the `sycolab/`
provider, on a tiny random model; `sycolab import-inspect` of the log; and the same trials through
Inspect and through `sycolab eval` giving the same replies and answers.

Needs the extra: pip install 'sycolab[inspect]'. The copy is installed with pip --target into a
folder named site-packages that the subprocesses put first on PYTHONPATH (no venv needed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai", reason="inspect_ai not installed: pip install 'sycolab[inspect]'")
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from toys import tiny_llama, word_tokenizer

ROOT = Path(__file__).resolve().parents[2]
WORDS = [*(str(n) for n in range(200)), "What", "is", "+", "*", "-", "?", "I", "think", "the",
         "answer", "but", "I'm", "really", "not", "sure", ".", ",", "don't", "that's", "right",
         "Are", "you", "Answer", "with", "just", "number", "The"]
MOCK_SCRIPT = """
import re, sys
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

def reply(messages, tools, tool_choice, config):
    text = messages[-1].text
    m = re.search(r"What is (\\d+) ([+*-]) (\\d+)", messages[0].text if len(messages) > 1
                  else text)
    a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
    right = {"+": a + b, "*": a * b, "-": a - b}[op]
    said = right + 1 if "Are you sure" in text else right  # caves when challenged
    out = ModelOutput.from_content(model="mockllm", content=f"The answer is {said}.")
    out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # no tiktoken
    return out

model = get_model("mockllm/model", custom_outputs=reply)
log, = inspect_eval("sycolab/are-you-sure", model=model, task_args={"suite": "arithmetic",
                    "limit": 5}, log_dir=sys.argv[1], display="none")
print(log.location)
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An installed copy of this checkout (its entry points included)."""
    target = tmp_path_factory.mktemp("installed") / "site-packages"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-compile", "--target", str(target), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return target


def _run(site: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site), INSPECT_DISPLAY="none",
               TOKENIZERS_PARALLELISM="false")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=site.parent)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tok = word_tokenizer(WORDS)
    out = tmp_path_factory.mktemp("tiny-inspect")
    tiny_llama(tok, seed=3, layers=2, hidden=32).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


def _samples(run: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    rows = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    return {(r["suite"], r["item_id"], r["protocol"]): r for r in rows}


def test_the_installed_copy_is_what_runs(site: Path) -> None:
    done = _run(site, "-c", "import sycolab, importlib.metadata as m; print(sycolab.__file__); "
                "print([e.value for e in m.entry_points(group='inspect_ai')])")
    assert done.returncode == 0, done.stderr
    assert str(site) in done.stdout and "sycolab.inspect_ext._registry" in done.stdout


def test_task_on_mockllm_and_import(site: Path, tmp_path: Path) -> None:
    script = tmp_path / "mock_eval.py"
    script.write_text(MOCK_SCRIPT)
    done = _run(site, str(script), str(tmp_path / "logs"))
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout.strip().splitlines()[-1].removeprefix("file://")
    from inspect_ai.log import read_eval_log

    read = read_eval_log(log)
    assert read.status == "success" and read.eval.task == "sycolab/are-you-sure"
    metrics = read.results.scores[0].metrics if read.results else {}
    # right at first, caves when challenged: sycolab's metrics with intervals in Inspect's log
    assert metrics["accuracy_baseline"].value == 1.0
    assert metrics["accuracy_final"].value == 0.0
    assert metrics["accuracy_final_ci_high"].value > 0.0
    sample = read.samples[0] if read.samples else None
    assert sample is not None and sample.scores is not None
    meta = next(iter(sample.scores.values())).metadata or {}
    assert meta["statuses"] == ["answered", "answered"] and meta["conditions"] == [
        "initial", "challenge"]
    # the conversation continued with the model's own reply
    assert [m.role for m in sample.messages][-3:] == ["assistant", "user", "assistant"]

    run = tmp_path / "run"
    done = _run(site, "-m", "sycolab", "import-inspect", log, "--out", str(run))
    assert done.returncode == 0, done.stderr
    results = json.loads((run / "results.json").read_text())
    (group,) = results["groups"]
    assert (group["suite"], group["protocol"], group["n"]) == ("arithmetic", "are-you-sure", 5)
    assert group["metrics"]["accuracy_baseline"]["value"] == 1.0
    assert (run / "report.html").is_file() and (run / "config.json").is_file()
    done = _run(site, "-m", "sycolab", "report", str(run))
    assert done.returncode == 0, done.stderr


def test_bad_log_is_one_line(site: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    for path in (bad, tmp_path / "missing.eval"):
        done = _run(site, "-m", "sycolab", "import-inspect", str(path), "--out",
                    str(tmp_path / "out"))
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and str(path) in done.stderr


def test_provider_on_a_tiny_model_agrees_with_sycolab_eval(site: Path, tiny_model: Path,
                                                           tmp_path: Path) -> None:
    limit = "6"
    imported: dict[tuple[str, str, str], dict[str, Any]] = {}
    for protocol in ("suggest-incorrect", "are-you-sure"):
        logs = tmp_path / f"logs-{protocol}"
        done = _run(site, "-m", "inspect_ai", "eval", f"sycolab/{protocol}", "-T",
                    "suite=arithmetic", "-T", f"limit={limit}", "--model",
                    f"sycolab/hf:{tiny_model}", "-M", "dtype=float32", "-M", "device=cpu",
                    "--log-dir", str(logs), "--display", "none")
        assert done.returncode == 0, done.stderr[-3000:]
        (log,) = logs.glob("*.eval")
        run = tmp_path / f"run-{protocol}"
        done = _run(site, "-m", "sycolab", "import-inspect", str(log), "--out", str(run),
                    "--no-report")
        assert done.returncode == 0, done.stderr
        results = json.loads((run / "results.json").read_text())
        assert [(g["suite"], g["protocol"], g["n"]) for g in results["groups"]] == [
            ("arithmetic", protocol, int(limit))]
        imported |= _samples(run)

    ref = tmp_path / "ref"
    done = _run(site, "-m", "sycolab", "eval", "--model", f"hf:{tiny_model}", "--suite",
                "arithmetic", "--protocol", "suggest-incorrect", "--protocol", "are-you-sure",
                "--scoring", "generate", "--limit", limit, "--out", str(ref), "--dtype",
                "float32", "--device", "cpu", "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    direct = _samples(ref)
    assert set(direct) == set(imported)
    for key, row in direct.items():
        assert imported[key]["responses"] == row["responses"], key
        assert imported[key]["answers"] == row["answers"], key
        assert imported[key]["statuses"] == row["statuses"], key


def test_judge_scoring_and_the_sycolab_provider(site: Path, tmp_path: Path) -> None:
    done = _run(site, "-m", "inspect_ai", "eval", "sycolab/are-you-sure", "-T",
                "suite=arithmetic", "-T", "limit=3", "-T", "scoring=judge", "-T",
                "judge=mock:judge", "--model", "sycolab/mock:stubborn", "--log-dir",
                str(tmp_path / "logs"), "--display", "none")
    assert done.returncode == 0, done.stderr[-3000:]
    from inspect_ai.log import read_eval_log

    (log,) = (tmp_path / "logs").glob("*.eval")
    samples = read_eval_log(str(log)).samples or []
    assert samples and samples[0].scores is not None
    record = (next(iter(samples[0].scores.values())).metadata or {})["sycolab_record"]
    assert record["scoring"] == "judge" and len(record["judge_verdicts"]) == 2
