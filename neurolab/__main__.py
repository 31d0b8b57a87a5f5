"""``python -m neurolab``: the ``neurolab`` command (see :mod:`neurolab.cli`)."""

import sys

from .cli import main

sys.exit(main())
