import sys

from mmkg_tui.cli import main

sys.exit(main())
