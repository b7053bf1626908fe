"""``python -m eqlmini``: the ``eqlmini`` command line."""

from .cli import main

raise SystemExit(main())
