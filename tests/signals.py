"""Subprocesses that a test interrupts with SIGINT must see SIGINT at its default.

A shell without job control starts background commands (``cmd &`` in a script, ``nohup``) with
SIGINT ignored, and an ignored signal is inherited across ``exec``: Python then installs no
KeyboardInterrupt handler, so a Ctrl-C test would time out or see exit 0 for reasons that have
nothing to do with the code under test. Pass ``preexec_fn=sigint_default`` to ``Popen``.
"""

import signal


def sigint_default() -> None:
    """Reset SIGINT to its default disposition in the child, before ``exec``."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
