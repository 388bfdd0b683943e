"""Command palette provider: every binding of the main screen and the app, the views,
every view's own bindings (Suspects' accept / reject / skip, Images' similar-panel
switch, Evaluate's scale and threshold modes: running one shows its view first), one
entry per method of the current run and the Images filters (the app drops Textual's
own Quit, so Quit is listed once)."""

from __future__ import annotations

import importlib
import inspect
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


SEARCHES = (
    ("Images: only test images", "split:test"),
    ("Images: only validation images", "split:val"),
    ("Images: only training images", "split:train"),
    ("Images: only images with errors at the threshold", "errors"),
    ("Images: test images with errors at the threshold", "split:test errors"),
)


def view_specs(screen) -> list:
    """The main screen's view registry (``VIEWS`` of its module: id, title, "module:Class")."""
    return list(getattr(inspect.getmodule(screen), "VIEWS", ()))


def view_entries(app, screen) -> list[tuple[str, object, str]]:
    """One entry per binding of each view (by its tooltip), titled with the view."""
    out = []
    for spec in view_specs(screen):
        module, name = spec.target.split(":")
        cls = getattr(importlib.import_module(module), name)
        for b in getattr(cls, "BINDINGS", ()):
            if getattr(b, "show", True) is False or not (b.tooltip or b.description):
                continue
            title, _, help_text = _entry(b, None)
            out.append((f"{spec.title}: {title}", partial(run_view_action, app, screen, spec.id, b.action),
                        f"{help_text} in the {spec.title} view"))
    return out


async def run_view_action(app, screen, view_id: str, action: str) -> None:
    """Show the view (building it on first use), then run its action on it."""
    await screen.action_show_view(view_id)
    await app.run_action(action, screen.view(view_id))


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
            out += view_entries(app, screen)
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
