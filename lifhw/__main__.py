"""``python -m lifhw``: the ``lifhw`` command."""

import sys

from lifhw.app.cli import main

sys.exit(main())
