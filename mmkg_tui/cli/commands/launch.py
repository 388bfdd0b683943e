"""`mmkg-tui [--data PATH | --run RUN_DIR]`: open the explorer. ``--run`` is checked
first (engine.experiment.store.check_run_folder): a folder that is not a run, or a
damaged one, is an error naming the file and field, and lists the runs inside it."""

from __future__ import annotations

import os
import sys


def run(args) -> int:
    run_dir = getattr(args, "run", None)
    if run_dir is not None:  # a damaged or wrong folder is a clear error here, before the app starts
        from engine import api

        api.check_run_folder(run_dir)
    # textual_image asks the terminal for its graphics support: before the app starts
    import textual_image.widget  # noqa: F401

    from mmkg_tui.app.app import create_app
    from mmkg_tui.app.settings import UserSettings

    settings = UserSettings.load()
    app = create_app(
        getattr(args, "data", None) or settings.data, run_dir=getattr(args, "run", None),
        embeddings=getattr(args, "embeddings", None), strict=bool(getattr(args, "strict", False)),
        clip_model=getattr(args, "clip_model", None), clip_pretrained=getattr(args, "clip_pretrained", None),
        settings=settings, corrections=getattr(args, "corrections", None),
    )
    app.run()
    code = int(app.return_code or 0)
    if app.background_busy():
        # q while the graph was still being built: the loader thread sits in torch's
        # import, which cannot be interrupted; it writes nothing, so leave without it.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
