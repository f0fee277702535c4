"""bayeslab.frequentist."""
