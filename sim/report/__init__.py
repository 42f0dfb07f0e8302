"""The typed report of a run: summary records, the Erlang B predictions, replication means, comparisons."""
