"""``python -m mediaproto.server``: the same as the ``mediaproto-server`` command."""

import sys

from .cli import main

sys.exit(main())
