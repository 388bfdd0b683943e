"""The mmkg-tui benchmark suite: `python -m benchmarks [--quick] [--json FILE] [--only STAGE,...]`.

Each stage module (``benchmarks/stage_*.py``) exposes ``run(ctx) -> list[Row]``;
``benchmarks.harness`` holds the timing, alternation, RSS and machine-info helpers;
``benchmarks.runner`` runs the stages and renders the table / JSON.
"""
