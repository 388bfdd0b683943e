import sys

from mmkg_tui.cli.main import main  # argparse only at import: the terminal probe starts in main()

sys.exit(main())
