"""The ``bayeslab`` command line.

Every command can print JSON (``--format json``). Bad input prints one line on stderr and exits
with code 2; nothing heavier than argparse is imported until a command runs, so ``--help`` is fast.

Modules: ``parser`` (the argparse tree), ``readouts`` / ``design`` / ``plans`` (one handler per
command), ``common`` (helpers the handlers share), ``errors`` (exit codes,
Ctrl-C) and ``entry`` (``main``).
"""

from bayeslab.cli.entry import main
from bayeslab.cli.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED
from bayeslab.cli.parser import MAX_SEED, build_parser

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "MAX_SEED", "build_parser", "main"]
