"""Running and checking samplers: nutpie / PyMC sampling, chains, the compiled-model cache.

- :mod:`~bayeslab.inference.sampling`: sample a PyMC model (nutpie by default) with the remedy;
- :mod:`~bayeslab.inference.chains`: nutpie's chains in threads or forked processes;
- :mod:`~bayeslab.inference.model_cache`: compiled models on disk, across processes;
- :mod:`~bayeslab.inference.diagnostics`: R-hat, ESS, MCSE, divergences, BFMI: pass / warn / fail;
- :mod:`~bayeslab.inference.storage`: save and re-read a posterior with its settings;
- :mod:`~bayeslab.inference.forks`: work in forked processes after an expensive set-up.
"""
