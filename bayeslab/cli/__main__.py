"""``python -m bayeslab.cli``: the same as the ``bayeslab`` command."""

import sys

from bayeslab.cli.entry import main

sys.exit(main())
