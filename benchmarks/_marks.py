"""Evaluation-only time with the same boundaries for every tool (stdlib only: runs in the peers'
virtualenvs too).

Definition (used by every peer comparison):

    evaluation-only s = eval_end - eval_start, where
    eval_start = entry into the tool's evaluation call, when the model is loaded on its device AND
                 the task's data rows are read (the task / suite / dataset objects exist);
    eval_end   = return of the call that computes the metrics from the per-item results (every
                 score or reply is produced, answers extracted, per-item results aggregated);
                 writing output files and reports afterwards is not included.

Where each tool crosses those boundaries (each is the function the tool's own code calls, wrapped
by name in its module so the tool runs its normal call path; the wrapper only reads the clock):

- lm-eval 0.4.13: `lm_eval.evaluator.evaluate`, which `simple_evaluate` calls after building the
  HFLM model and loading the tasks (`TaskManager.load` reads the dataset): entry and return.
  Inside: building the request objects, the log-likelihood passes, metrics, sample logging.
- Inspect 0.3.285: start = entry into `inspect_ai._eval.run.task_run` (model built by `get_model`,
  dataset read when the Task was constructed); end = return of the last
  `inspect_ai._eval.task.run.eval_results` call (the task's metrics), before the log is finished.
- sycolab: start = entry into `sycolab.evaluation.api.run_pending` (model loaded, suites read,
  plan built, run folder opened); end = return of `sycolab.evaluation.api.compute_results`
  (the metrics), before side effects, results.json and report.html.

Model loading is marked too (load_start/load_end around HFLM construction, `get_model`, sycolab's
`load_backend`) for information. All marks are CLOCK_MONOTONIC seconds, the clock the harness in
_common.py reads before starting and after reaping the child, so "before evaluation s" (process
start -> eval_start) and "after evaluation s" (eval_end -> exit) come from the same clock.

    python benchmarks/_marks.py sycolab MARKS.json eval --model ...   # the sycolab CLI, timed
"""

from __future__ import annotations

import atexit
import functools
import json
import sys
import time
from pathlib import Path
from typing import Any


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class Marks:
    """Named CLOCK_MONOTONIC timestamps, written to `path` as JSON at exit (and on `write`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.data: dict[str, Any] = {"driver_start": now()}
        atexit.register(self.write)

    def mark(self, name: str) -> None:
        self.data[name] = now()

    def write(self) -> None:
        d = self.data
        if "eval_start" in d and "eval_end" in d:
            d["eval_s"] = d["eval_end"] - d["eval_start"]
        if "load_start" in d and "load_end" in d:
            d["load_s"] = d["load_end"] - d["load_start"]
        self.path.write_text(json.dumps(d, indent=1))


def _wrap(owner: Any, attr: str, marks: Marks, enter: str | None, leave: str | None) -> None:
    """Replace owner.attr by a wrapper that marks `enter` on entry and `leave` on return."""
    orig = getattr(owner, attr)

    @functools.wraps(orig)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if enter:
            marks.mark(enter)
        try:
            return orig(*args, **kwargs)
        finally:
            if leave:
                marks.mark(leave)

    setattr(owner, attr, wrapper)


def _wrap_async(owner: Any, attr: str, marks: Marks, enter: str) -> None:
    orig = getattr(owner, attr)

    @functools.wraps(orig)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        marks.mark(enter)
        return await orig(*args, **kwargs)

    setattr(owner, attr, wrapper)


def patch_lm_eval(marks: Marks) -> None:
    import lm_eval.evaluator as ev

    _wrap(ev, "evaluate", marks, "eval_start", "eval_end")


def patch_inspect(marks: Marks) -> None:
    import inspect_ai._eval.run as run
    import inspect_ai._eval.task.run as task_run

    _wrap_async(run, "task_run", marks, "eval_start")
    _wrap(task_run, "eval_results", marks, None, "eval_end")


def patch_sycolab(marks: Marks) -> None:
    import sycolab.evaluation.api as api

    _wrap(api, "load_backend", marks, "load_start", "load_end")
    _wrap(api, "run_pending", marks, "eval_start", None)
    _wrap(api, "compute_results", marks, None, "eval_end")


def main(argv: list[str]) -> None:
    """`_marks.py sycolab MARKS ARGS...`: the sycolab CLI with ARGS, its boundaries marked."""
    if len(argv) < 2 or argv[0] != "sycolab":
        raise SystemExit("usage: _marks.py sycolab MARKS.json CLI-ARGS...")
    marks = Marks(argv[1])
    patch_sycolab(marks)
    from sycolab.cli.app import main as cli_main

    sys.argv = ["sycolab", *argv[2:]]
    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])
