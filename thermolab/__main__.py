"""`python -m thermolab …`: the command line (see `thermolab.cli`)."""

from thermolab.cli import main

raise SystemExit(main())
