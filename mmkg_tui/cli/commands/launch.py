"""`mmkg-tui [--data PATH | --run RUN_DIR]`: open the explorer."""

from __future__ import annotations


def run(args) -> int:
    if getattr(args, "corrections", None):
        from engine.api import ConfigError

        raise ConfigError("the explorer does not apply --corrections yet", field="corrections",
                          hint="use it with `mmkg-tui info`, `run`, `search`, `similar` or `suspects`")
    # textual_image asks the terminal for its graphics support: before the app starts
    import textual_image.widget  # noqa: F401

    from mmkg_tui.app.app import create_app

    app = create_app(
        getattr(args, "data", None), run_dir=getattr(args, "run", None),
        embeddings=getattr(args, "embeddings", None), strict=bool(getattr(args, "strict", False)),
        clip_model=getattr(args, "clip_model", None), clip_pretrained=getattr(args, "clip_pretrained", None),
    )
    app.run()
    return int(app.return_code or 0)
