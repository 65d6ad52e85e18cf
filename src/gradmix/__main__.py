"""``python -m gradmix``."""

import sys

from gradmix.cli import main

sys.exit(main())
