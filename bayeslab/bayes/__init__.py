"""bayeslab.bayes."""
