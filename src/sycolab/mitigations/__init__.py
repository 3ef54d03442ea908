"""Mitigations: prompt baselines, steering, KL-then-steer, LQCD, synthetic data, fine-tuning."""
