"""The command line: `mmkg-tui [options]` launches the explorer; subcommands in commands/."""
