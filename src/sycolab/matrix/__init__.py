"""The mitigation matrix: every method and combination on the same test items (`sycolab matrix`)."""
