import sys

from mmkg_tui.cli.main import main

sys.exit(main())
