"""A footer that recomposes only when what it shows changes.

Textual's Footer unmounts and mounts all its keys whenever the screen's bindings are
updated, and they are updated on every focus change: a view switch (the focus moves
to the new view's list) paid a recompose of ~20 widgets and a layout pass for an
unchanged footer. The keys shown depend only on the screen's active bindings, so the
footer compares what it would show with what it shows and skips equal updates.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


def shown_keys(footer: Footer, screen: Screen) -> tuple:
    """What the footer displays for ``screen``: every shown binding (key, label,
    action, enabled, tooltip, group) and the command palette's key."""
    palette = footer.app.COMMAND_PALETTE_BINDING if footer.show_command_palette else None
    return tuple(
        (binding.key, footer.app.get_key_display(binding), binding.description, binding.action, enabled,
         tooltip, binding.group)
        for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
        if binding.show or key == palette
    )


class SteadyFooter(Footer):
    shown: tuple | None = None  # the keys on display (None: not composed with bindings yet)

    def bindings_changed(self, screen: Screen) -> None:
        if not (screen.app.app_focus and self.is_attached and screen is self.screen):
            super().bindings_changed(screen)  # Textual's own handling (it skips the recompose too)
            return
        keys = shown_keys(self, screen)
        if keys == self.shown:
            return
        self.shown = keys
        super().bindings_changed(screen)
