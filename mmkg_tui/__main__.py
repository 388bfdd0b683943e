import sys

from mmkg_tui.cli.main import SUBCOMMANDS  # argparse only: cheap
from mmkg_tui.app.terminal import is_explorer_launch, start_probe, wait_probe

if is_explorer_launch(sys.argv[1:], SUBCOMMANDS):
    start_probe()  # overlaps the terminal's answers with the imports below (app/terminal.py)

from mmkg_tui.cli.main import main  # noqa: E402

try:
    code = main()
finally:
    wait_probe()  # an early error (a bad --run) can come before the probe is done
sys.exit(code)
