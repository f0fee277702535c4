"""bayeslab.data."""
