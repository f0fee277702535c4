"""Numerical kernels: numpy/scipy only, no pandas, no PyMC. Results and models build on these."""
