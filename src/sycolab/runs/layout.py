"""The files of a run folder."""

from __future__ import annotations

CONFIG = "config.json"
SAMPLES = "samples.jsonl"
RESULTS = "results.json"
LOCK = ".lock"
REPORT = "report.html"
