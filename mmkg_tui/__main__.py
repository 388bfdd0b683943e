import sys

from mmkg_tui.cli.main import SUBCOMMANDS  # argparse only: cheap

if __name__ == "__main__":
    from mmkg_tui.app.terminal import is_explorer_launch, start_probe

    if is_explorer_launch(sys.argv[1:], SUBCOMMANDS):
        start_probe()  # overlaps the terminal's answers with the imports below (app/terminal.py)

from mmkg_tui.cli.main import main  # noqa: E402

sys.exit(main())
