"""`python -m liqcascade` runs the CLI (the launcher starts children this way, in the same venv)."""
import sys

from liqcascade.cli import main

sys.exit(main())
