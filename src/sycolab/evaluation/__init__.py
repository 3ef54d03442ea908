"""Evaluation: plan trials, run them on a backend, keep the run folder."""
