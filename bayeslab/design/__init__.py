"""bayeslab.design."""
