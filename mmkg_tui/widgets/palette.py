"""Command palette provider: every binding of the main screen and the app, the views,
one entry per method of the current run and the Images filters (the app drops
Textual's own Quit, so Quit is listed once)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


SEARCHES = (
    ("Images: only test images", "split:test"),
    ("Images: only validation images", "split:val"),
    ("Images: only training images", "split:train"),
    ("Images: only images with errors at the threshold", "errors"),
    ("Images: test images with errors at the threshold", "split:test errors"),
)


def _entry(binding, callback) -> tuple[str, object, str]:
    """(title, callback, help): the full description as the title, the key as help."""
    title = binding.tooltip or binding.description
    keys = binding.key_display or {"question_mark": "?", "slash": "/", "escape": "esc"}.get(binding.key, binding.key)
    return title, callback, f"key {keys}"


class MMKGCommands(Provider):
    def commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        out: list[tuple[str, object, str]] = []
        screen = app.main_screen  # type: ignore[attr-defined]
        if screen is not None:
            for b in screen.BINDINGS:
                if screen.check_action(b.action.split("(")[0], ()) is False:
                    continue
                out.append(_entry(b, partial(app.run_action, b.action, screen)))
            for m in app.session.methods:
                out.append((f"method: {m}", partial(app.set_method, m), "follow this method in every view"))
            for title, query in SEARCHES:
                out.append((title, partial(app.search_images, query), f"the Images search '{query}'"))
        for b in app.BINDINGS:
            out.append(_entry(b, partial(app.run_action, b.action)))
        return out

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
