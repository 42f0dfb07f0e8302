"""Output: results folders written atomically, read back, and drawn as plots."""
