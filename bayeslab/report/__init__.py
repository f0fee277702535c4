"""bayeslab.report."""
