import sys

from mixdesk.cli import main

sys.exit(main())
