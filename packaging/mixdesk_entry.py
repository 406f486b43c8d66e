"""Entry point of the frozen application: the same ``mixdesk`` command as the installed package."""

import sys

from mixdesk.cli import main

if __name__ == "__main__":
    sys.exit(main())
