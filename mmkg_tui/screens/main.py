"""The main screen: the top bar, the views as tabs, and the footer. Its bindings
are the app's keyboard map (listed by `?` and offered by the command palette).

Views are registered in ``VIEWS`` (id, tab title, key, class path): the first one
shown is built at once, so start-up builds one view, not all of them. The others are
built when first shown, or before: once the engine is ready the app calls
``prebuild_views``, which builds one hidden view per quiet moment (no key or click for
``PREBUILD_QUIET_S``) and lays it out once under the visible one
(``lay_out_hidden``), so a first visit is a plain switch and a key pressed meanwhile
is served first. A new view appends a ``ViewSpec`` here and gets its number key.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, TabbedContent, TabPane

from mmkg_tui.widgets.base import StateView
from mmkg_tui.widgets.footer import KeyFooter
from mmkg_tui.widgets.topbar import TopBar


@dataclass(frozen=True)
class ViewSpec:
    id: str
    title: str
    key: str
    target: str  # "module:Class" of the view widget (imported when first shown)
    summary: str  # one line for help and the palette

    def build(self, train_defaults: dict | None) -> Widget:
        module, name = self.target.split(":")
        cls = getattr(importlib.import_module(module), name)
        if name == "TrainView":
            return cls(train_defaults, id=f"{self.id}-view")
        return cls(id=f"{self.id}-view")


VIEWS: list[ViewSpec] = [
    ViewSpec("overview", "Overview", "1", "mmkg_tui.views.overview:OverviewView",
             "dataset and graph counts, embedding source, dataset problems, keyword prevalence"),
    ViewSpec("images", "Images", "2", "mmkg_tui.views.images:ImagesView",
             "searchable list; picture, facts, keywords and predictions of the selected image"),
    ViewSpec("keywords", "Keywords", "3", "mmkg_tui.views.keywords:KeywordsView",
             "per-keyword precision / recall / AUC and hero images of the selected keyword"),
    ViewSpec("train", "Train", "4", "mmkg_tui.views.train:TrainView",
             "settings, progress, loss curve and log; the open run"),
    ViewSpec("evaluate", "Evaluate", "5", "mmkg_tui.views.evaluate:EvaluateView",
             "results table (j/k/enter select the method), ROC curves, per-keyword P/R, run browser"),
    ViewSpec("search", "Search", "6", "mmkg_tui.views.search:SearchView",
             "images for a query of keywords, scenes, attribute ranges (-term subtracts), with scores"),
    ViewSpec("suspects", "Suspects", "7", "mmkg_tui.views.suspects:SuspectsView",
             "likely missing / wrong tags; a accept, r reject, s skip (to a corrections file)"),
]


PREBUILD_QUIET_S = 0.4  # a hidden view is built only after this long without input
PREBUILD_GAP_S = 0.05  # between two built views: the frames and keys queued meanwhile go first
LAY_OUT_POLL_S, LAY_OUT_POLLS = 0.02, 50  # a prebuilt view waits this for its first layout


def view_bindings() -> list[Binding]:
    return [Binding(v.key, f"show_view('{v.id}')", v.title, show=False, id=f"view.{v.id}",
                    tooltip=f"{v.title}: {v.summary}") for v in VIEWS]


class MainScreen(Screen):
    AUTO_FOCUS = ""  # not the first focusable widget (the top bar's method picker): see on_mount
    BINDINGS = view_bindings() + [
        Binding("m", "cycle_method(1)", "method", id="method.next",
                tooltip="Next method of the run (GraphSAGE per strategy and the baselines)"),
        Binding("M", "cycle_method(-1)", "Previous method", show=False, id="method.previous",
                tooltip="Previous method"),
        Binding("]", "step_threshold(0.01)", "thr+", id="threshold.up", tooltip="Threshold +0.01"),
        Binding("[", "step_threshold(-0.01)", "thr-", id="threshold.down", tooltip="Threshold -0.01"),
        Binding("}", "step_threshold(0.05)", "Threshold +0.05", show=False, id="threshold.up5",
                tooltip="Threshold +0.05"),
        Binding("{", "step_threshold(-0.05)", "Threshold -0.05", show=False, id="threshold.down5",
                tooltip="Threshold -0.05"),
        Binding("b", "best_threshold", "Threshold at best F1", show=False, id="threshold.best",
                tooltip="Threshold at the method's best F1 (chosen on validation images)"),
        Binding("t", "edit_threshold", "thr=", id="threshold.edit",
                tooltip="Type a threshold in [-1, 1] (enter applies, esc leaves the field)"),
        Binding("r", "start_training", "train", id="train.start",
                tooltip="Train with the settings of the Train view; the result becomes the current run"),
        Binding("escape", "cancel_training", "cancel", key_display="esc", id="train.cancel",
                tooltip="Cancel the running training"),
        Binding("escape", "escape", "Leave the field", key_display="esc", show=False, id="focus.leave",
                tooltip="Leave a text field (back to the list)"),
        Binding("slash", "search_images", "search", key_display="/", id="images.search",
                tooltip="Search images: words, split:test, scene:kitchen, kw:pool, errors"),
        Binding("R", "browse_runs", "runs", id="runs.browse",
                tooltip="Run browser: every run of this dataset, newest first; open or compare"),
    ]

    def __init__(self, train_defaults: dict | None, initial: str = "overview") -> None:
        super().__init__()
        self.train_defaults = train_defaults
        self.initial = initial if any(v.id == initial for v in VIEWS) else VIEWS[0].id
        self._building: dict[str, asyncio.Event] = {}  # view id -> set once it is mounted
        self._prebuilt: Callable[[], None] | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with TabbedContent(initial=self.initial, id="views"):
            for spec in VIEWS:
                with TabPane(f"{spec.key} {spec.title}", id=spec.id):
                    if spec.id == self.initial:
                        yield spec.build(self.train_defaults)
        yield KeyFooter(keep=("app.help", "app.quit"))

    def on_mount(self) -> None:
        self.focus_view_list()  # the focus a visit of the first view gives (action_show_view)
        self.call_after_refresh(self.app.main_shown.set)  # the graph build may start now

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        training = self.app.training
        if action == "cancel_training":
            return training
        if action == "start_training":
            return not training
        if action == "cycle_method":
            return True if self.app.session.has_run else None
        return True

    @property
    def current_view(self) -> str:
        return self.query_one("#views", TabbedContent).active

    def view(self, view_id: str) -> Widget | None:
        """The view widget of ``view_id`` if it is built."""
        pane = self.query_one("#views", TabbedContent).get_pane(view_id)
        return pane.children[0] if pane.children else None

    async def ensure_view(self, view_id: str) -> Widget:
        """Build the view on first use (lazy views keep start-up to one view); a caller
        arriving while the view is being mounted waits for that mount."""
        building = self._building.get(view_id)
        if building is not None:
            await building.wait()
        existing = self.view(view_id)
        if existing is not None:
            return existing
        self._building[view_id] = building = asyncio.Event()
        try:
            spec = next(v for v in VIEWS if v.id == view_id)
            widget = spec.build(self.train_defaults)
            await self.query_one("#views", TabbedContent).get_pane(view_id).mount(widget)
        finally:
            building.set()
            del self._building[view_id]
        return widget

    all_built = False  # prebuild_views has built every view (their mounts are complete)

    def prebuild_views(self, done: Callable[[], None] | None = None) -> None:
        """Build the views not built yet, one per quiet moment, then call ``done``."""
        self._prebuilt = done
        self.set_timer(PREBUILD_QUIET_S, self._prebuild_next)

    async def _prebuild_next(self) -> None:
        pending = [v.id for v in VIEWS if self.view(v.id) is None]
        if not pending:
            self.all_built = True
            if self._prebuilt is not None:
                self._prebuilt()
            return
        wait = self.app.last_input_at + PREBUILD_QUIET_S - time.monotonic()  # type: ignore[attr-defined]
        if wait > 0:
            self.set_timer(wait, self._prebuild_next)
            return
        await self.ensure_view(pending[0])
        self.lay_out_hidden(pending[0], then=lambda: self.set_timer(PREBUILD_GAP_S, self._prebuild_next))

    def lay_out_hidden(self, view_id: str, then: Callable[[], None]) -> None:
        """Lay a hidden view out and draw it once, under the visible one, then hide it
        again and call ``then``. A pane that was never displayed pays, on its first visit,
        for its first layout at the real size (rich content measured and rendered at its
        width) on top of the switch itself; doing that here, in a quiet moment, makes the
        first visit a plain switch. The pane sits on the ``prebuild`` layer, which the
        views' switcher paints below the visible view (app.tcss), so the screen does not
        change meanwhile. Not waited for with ``await``: the layout runs in this screen's
        own message loop."""
        tabs = self.query_one("#views", TabbedContent)
        pane = tabs.get_pane(view_id)
        if tabs.active == view_id or not pane.children:
            then()
            return
        view = pane.children[0]
        pane.styles.layer = "prebuild"
        pane.styles.display = "block"
        polls, last = iter(range(LAY_OUT_POLLS)), [None]

        def restore() -> None:
            # laid out, and settled: a scroll bar that appears needs a second pass
            layout = tuple(w.region for w in view.query("*")) if view.size else None
            settled = layout is not None and layout == last[0]
            last[0] = layout
            if not settled and next(polls, None) is not None:
                self.set_timer(LAY_OUT_POLL_S, restore)
                return
            if tabs.active != view_id:  # the user may have switched to it meanwhile
                pane.styles.display = "none"
            pane.styles.clear_rule("layer")
            then()

        self.set_timer(LAY_OUT_POLL_S, restore)

    async def on_keywords_view_image_chosen(self, event) -> None:
        await self.action_show_view("images")
        self.query_one("#images-view").show_image(event.row)

    async def on_search_view_image_chosen(self, event) -> None:
        await self.on_keywords_view_image_chosen(event)

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        await self.ensure_view(event.pane.id)
        for view in event.pane.query(StateView):
            view.flush()

    async def action_show_view(self, view: str) -> None:
        await self.ensure_view(view)
        tabs = self.query_one("#views", TabbedContent)
        tabs.active = view
        pane = tabs.get_pane(view)
        for state_view in pane.query(StateView):
            state_view.flush()
        self.focus_view_list()

    def action_cycle_method(self, step: int) -> None:
        self.app.cycle_method(step)

    def action_step_threshold(self, delta: float) -> None:
        self.app.threshold = self.app.threshold + delta

    def action_best_threshold(self) -> None:
        best = self.app.session.best_threshold()
        if best is None:
            self.app.notify("No run yet: press r to train.", severity="warning")
            return
        self.app.threshold = best

    def restore_focus(self) -> None:
        """Back to where the user was before typing a threshold (or the view's list)."""
        before = getattr(self, "_focus_before", None)
        self._focus_before = None
        if before is not None and before.is_attached and before.focusable:
            before.focus()
        else:
            self.focus_view_list()

    def focus_view_list(self) -> None:
        """A list or a button of the current view, never a text field (the view keys must
        keep working), or nothing on a view without one."""
        pane = self.query_one("#views", TabbedContent).get_pane(self.current_view)
        targets = [w for w in pane.query("DataTable, Button") if w.focusable]
        if targets:
            targets[0].focus()
        else:
            self.set_focus(None)

    def action_edit_threshold(self) -> None:
        if not isinstance(self.focused, Input):
            self._focus_before = self.focused
        inp = self.query_one("#threshold-input", Input)
        inp.focus()
        inp.select_all()

    async def action_start_training(self) -> None:
        await self.action_show_view("train")
        self.query_one("#train-view").request_start()

    def action_cancel_training(self) -> None:
        self.app.cancel_training()

    def action_escape(self) -> None:
        """esc in a text field: back to the list of the view (or where the user was)."""
        if self.focused is not None and self.focused.id == "threshold-input":
            self.restore_focus()
        elif isinstance(self.focused, Input):
            self.focus_view_list()

    async def action_search_images(self) -> None:
        await self.action_show_view("images")
        self.query_one("#image-search", Input).focus()

    def action_browse_runs(self) -> None:
        self.app.browse_runs()
