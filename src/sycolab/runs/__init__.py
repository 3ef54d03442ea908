"""The run folder format, below both evaluation (which writes it) and report (which reads it).

- `sycolab.runs.layout`: the file names of a run folder;
- `sycolab.runs.jsonio`: JSON as run folders write it (no NaN, atomic replace);
- `sycolab.runs.samples`: reading samples.jsonl, each record checked against `TrialRecord`;
- `sycolab.runs.lock`: the folder lock a run holds while it writes;
- `sycolab.runs.folder`: `RunFolder` (open, lock, append, results) and `check_out_dir`;
- `sycolab.runs.config_hash`: the hash that names a configuration;
- `sycolab.runs.listing`: run folders read into rows for `sycolab runs` (status, planned
  trials, headline).

The record schema and the last-record rule live in `sycolab.core.records` (metrics read them).
Torch-free; imports only `sycolab.core` and `sycolab.paths`.
"""

from __future__ import annotations

from sycolab.runs.config_hash import config_hash
from sycolab.runs.folder import RunFolder, check_out_dir
from sycolab.runs.jsonio import dumps, write_json_atomic
from sycolab.runs.layout import CONFIG, LOCK, REPORT, RESULTS, SAMPLES
from sycolab.runs.samples import check_record, read_samples

__all__ = ["CONFIG", "LOCK", "REPORT", "RESULTS", "SAMPLES", "RunFolder", "check_out_dir",
           "check_record", "config_hash", "dumps", "read_samples", "write_json_atomic"]
