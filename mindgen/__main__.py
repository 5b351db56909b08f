"""`python -m mindgen` is the same as the `mindgen` command."""

import sys

from mindgen.cli import main

sys.exit(main())
