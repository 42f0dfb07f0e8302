"""Experiments: runs of a scenario over replications and variants."""
