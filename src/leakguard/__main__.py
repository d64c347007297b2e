import sys

from leakguard.cli import main

sys.exit(main())
