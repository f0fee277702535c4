"""bayeslab.kernels."""
