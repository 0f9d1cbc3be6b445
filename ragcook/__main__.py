import sys

from ragcook.cli import main

sys.exit(main())
