"""bayeslab.sequential."""
