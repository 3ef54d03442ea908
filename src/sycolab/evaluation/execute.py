"""Run planned trials into a run folder: each trial is saved as soon as it finishes, and a
backend failure that repeats stops the run with its cause instead of failing every trial.

A configuration error a backend finds during the run (`UserInputError`) is not a trial's failure:
the runner lets it through at once, so the run exits 2 before any trial is recorded as failed.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sycolab.core.errors import BackendError
from sycolab.core.records import TrialRecord, latest_by_trial
from sycolab.evaluation.judge import Judge
from sycolab.evaluation.plan import TrialPlan
from sycolab.evaluation.progress import RunProgress
from sycolab.evaluation.runner import Runner, chunks
from sycolab.runs.folder import RunFolder

logger = logging.getLogger(__name__)

FIRST_FAILURES = 8  # at least this many failed trials, no success and one cause after a chunk: stop


def cause(error: str) -> str:
    """The cause of a trial error, without what is specific to the trial (numbers, quotes)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", error.strip().splitlines()[0] if error else "")
    text = re.sub(r"\b(?=[0-9a-f]*\d)[0-9a-f]{6,}\b", "…", text)  # item ids and hashes
    return re.sub(r"\b\d{4,}\b", "N", text)[:160]


def error_causes(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Failed trials counted by cause, most frequent first."""
    counts = Counter(cause(str(r["error"])) for r in records if r.get("error") is not None)
    return dict(counts.most_common())


def fix_for(text: str) -> str:
    """What to do about a failure cause, where it is known."""
    checks = (
        (r"HTTP 401|HTTP 403|unauthori[sz]ed|invalid api key|incorrect api key",
         "set OPENAI_API_KEY to a key the server accepts"),
        (r"HTTP 404", "check the model id the server serves and that the base URL ends in /v1"),
        (r"HTTP 429|rate limit", "lower --concurrency or wait for the rate limit"),
        (r"HTTP 400|context length|maximum context", "shorten the prompts or --max-new-tokens"),
        (r"out of memory|CUDA error", "lower --batch-size"),
    )
    for pattern, fix in checks:
        if re.search(pattern, text, re.IGNORECASE):
            return fix
    return "see the errors in samples.jsonl"


class _FailureWatch:
    """Stops the run when the first trials all fail with one cause."""

    def __init__(self) -> None:
        self.seen = 0
        self.causes: Counter[str] = Counter()
        self.any_ok = False

    def add(self, records: Sequence[Mapping[str, Any]]) -> None:
        for r in records:
            self.seen += 1
            if r.get("error") is None:
                self.any_ok = True
            else:
                self.causes[cause(str(r["error"]))] += 1

    def check(self) -> None:
        """Called when a chunk is complete (a failed trial finishes before the ones that work)."""
        if not self.any_ok and self.seen >= FIRST_FAILURES and len(self.causes) == 1:
            (what, n), = self.causes.items()
            raise BackendError(f"the first {n} trials all failed with the same error: {what} "
                               f"({fix_for(what)}); the run stopped, re-run the same command "
                               "once fixed")


@dataclass
class Executed:
    """A run folder's trials after a run: the last record of each planned trial."""

    records: list[TrialRecord]
    n_run: int
    n_resumed: int
    seconds: float


def run_pending(runner: Runner, folder: RunFolder, trials: Sequence[TrialPlan], *,
                progress: bool, chunk: int, judge: Judge | None = None) -> Executed:
    """Run the planned trials the folder does not hold yet (failed ones again) and return the
    folder's records of every planned trial."""
    wanted = {t.trial_id for t in trials}
    done = {tid for tid, r in latest_by_trial(folder.read_samples()).items()
            if r.get("error") is None and tid in wanted}
    pending = [t for t in trials if t.trial_id not in done]
    if judge is not None:
        steps = sum(len(t.conditions) for t in pending)
        logger.info("judge %s (%s): up to %d judge calls for %d trials (cached verdicts are not "
                    "asked again)", judge.spec, judge.mode, steps, len(pending))
    started = time.perf_counter()
    execute(runner, folder, pending, total=len(trials), done=len(done), progress=progress,
            chunk=chunk)
    records = [r for r in latest_by_trial(folder.read_samples()).values()
               if r["trial_id"] in wanted]
    return Executed(records, len(pending), len(done), time.perf_counter() - started)


def execute(runner: Runner, folder: RunFolder, pending: Sequence[TrialPlan], *, total: int,
            done: int, progress: bool, chunk: int) -> None:
    """Run `pending` in chunks of `chunk` trials; finished trials are appended (and flushed) after
    every step, so an interrupt keeps every finished trial and a re-run resumes the rest.
    Raises `BackendError` when the first trials all fail alike, or every trial of the run did."""
    watch = _FailureWatch()
    with RunProgress(total=total, done=done, enabled=progress) as bar:
        runner.on_requests = bar.requests_done

        def save(records: list[TrialRecord]) -> None:
            folder.append(records)
            bar.trials_done(len(records))
            watch.add(records)

        for part in chunks(pending, chunk):
            runner.run_chunk(part, on_done=save)
            watch.check()
    if watch.seen and not watch.any_ok and done == 0:
        top, n = watch.causes.most_common(1)[0]
        raise BackendError(f"all {watch.seen} trials failed ({n} with: {top}; {fix_for(top)}); "
                           "re-run the same command once fixed")
