"""Statistics that do not grow with a run: histograms, Erlang B, confidence intervals."""
