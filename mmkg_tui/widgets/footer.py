"""The key footer: one widget that draws the screen's shown bindings on one line.

Textual's Footer is a container of one FooterKey widget per key and recomposes
(unmounts and mounts them all, then lays out the screen) whenever the keys change;
the views have keys of their own, so every switch between two of them paid that
(~40 % of a view switch's main-thread CPU, measured: 218-248 ms vs 148-151 ms per
switch without a footer, under load). This footer is a single widget: new keys are a
new line of text, redrawn without a layout pass. It compares what it would show
with what it shows and skips equal updates. A click on a key presses it
(``App.simulate_key``, as Textual's FooterKey does). When the keys do not fit, the
command palette's key (always at the right edge) loses its description, then keys
are left out whole from the end, except those the screen keeps (help and quit).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget


@dataclass(frozen=True)
class FooterEntry:
    key: str  # the binding's key, pressed on a click
    display: str  # the key as shown ("esc", "?", "^p")
    description: str
    enabled: bool
    palette: bool = False  # the command palette's key (drawn at the right edge)
    binding_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.display} {self.description}" if self.description else self.display

    def short(self) -> FooterEntry:
        return FooterEntry(self.key, self.display, "", self.enabled, self.palette, self.binding_id)


def shown_keys(app, screen: Screen) -> tuple[FooterEntry, ...]:
    """What the footer shows for ``screen``: one entry per action of the shown
    bindings (the first binding of an action, like Textual's Footer), then the command
    palette's key."""
    palette = app.COMMAND_PALETTE_BINDING if app.ENABLE_COMMAND_PALETTE else None
    entries, actions = [], set()
    palette_entry = None
    for key, (_node, binding, enabled, _tooltip) in screen.active_bindings.items():
        if key == palette:
            palette_entry = FooterEntry(binding.key, app.get_key_display(binding), binding.description, enabled, True,
                                        binding.id)
        elif binding.show and binding.action not in actions:
            actions.add(binding.action)
            entries.append(FooterEntry(binding.key, app.get_key_display(binding), binding.description, enabled,
                                       binding_id=binding.id))
    return tuple(entries) + ((palette_entry,) if palette_entry else ())


class KeyFooter(Widget, can_focus=False):
    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        .key-footer--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
        .key-footer--description { color: $footer-description-foreground; background: $footer-description-background; }
    }
    """

    def __init__(self, keep: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.keep = keep  # binding ids never left out for want of space
        self.entries: tuple[FooterEntry, ...] = ()  # what it would show, given the width

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self.bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        entries = shown_keys(self.app, screen)
        if entries != self.entries:
            self.entries = entries
            self.refresh()

    @property
    def spans(self) -> list[tuple[int, int, FooterEntry]]:
        """(start, end) column of each key drawn at the current width."""
        return self.layout_spans(self.size.width)

    @property
    def drawn(self) -> list[FooterEntry]:
        """The entries on screen at the current width (the others did not fit)."""
        return [entry for _, _, entry in self.spans]

    def layout_spans(self, width: int) -> list[tuple[int, int, FooterEntry]]:
        """Where each key goes: left to right from column 1, one space apart, whole keys
        only; the palette key right-aligned (see the module's note for what gives way)."""
        keys = [e for e in self.entries if not e.palette]
        palette = next((e for e in self.entries if e.palette), None)

        def needed(entries, pal) -> int:
            return 1 + sum(len(e.label) + 1 for e in entries) + (len(pal.label) + 1 if pal else 0)

        if palette is not None and needed(keys, palette) > width:
            palette = palette.short()
        while keys and needed(keys, palette) > width:
            droppable = [i for i, e in enumerate(keys) if e.binding_id not in self.keep]
            if not droppable:
                break
            del keys[droppable[-1]]
        spans, x = [], 1
        for entry in keys:
            spans.append((x, x + len(entry.label), entry))
            x += len(entry.label) + 1
        if palette is not None:
            start = max(x, width - len(palette.label) - 1)
            spans.append((start, start + len(palette.label), palette))
        return [span for span in spans if span[1] <= width]

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        desc_style = self.get_component_rich_style("key-footer--description")
        dim = Style(dim=True)
        text, x = Text(no_wrap=True, overflow="crop"), 0
        for start, _end, entry in self.spans:
            text.append(" " * (start - x))
            text.append(entry.display, style=key_style if entry.enabled else key_style + dim)
            if entry.description:
                text.append(" " + entry.description, style=desc_style if entry.enabled else desc_style + dim)
            x = start + len(entry.label)
        return text

    def entry_at(self, x: int) -> FooterEntry | None:
        return next((entry for start, end, entry in self.spans if start <= x < end), None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        entry = self.entry_at(event.x)
        if entry is None:
            return
        if entry.enabled:
            self.app.simulate_key(entry.key)
        else:
            self.app.bell()
