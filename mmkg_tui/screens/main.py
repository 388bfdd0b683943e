"""The main screen: the top bar, the five views as tabs, and the footer. Its bindings
are the app's keyboard map (listed by `?` and offered by the command palette)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input, TabbedContent, TabPane

from mmkg_tui.views.evaluate import EvaluateView
from mmkg_tui.views.images import ImagesView
from mmkg_tui.views.keywords import KeywordsView
from mmkg_tui.views.overview import OverviewView
from mmkg_tui.views.search import SearchView
from mmkg_tui.views.suspects import SuspectsView
from mmkg_tui.views.train import TrainView
from mmkg_tui.widgets.base import StateView
from mmkg_tui.widgets.topbar import TopBar

VIEWS = (("overview", "1 Overview"), ("images", "2 Images"), ("keywords", "3 Keywords"),
         ("train", "4 Train"), ("evaluate", "5 Evaluate"), ("search", "6 Search"), ("suspects", "7 Suspects"))


class MainScreen(Screen):
    BINDINGS = [
        Binding("1", "show_view('overview')", "Overview", id="view.overview",
                tooltip="Overview: dataset and graph counts, embedding source, keyword prevalence"),
        Binding("2", "show_view('images')", "Images", id="view.images",
                tooltip="Images: filterable list; picture, keywords and predictions of the selected image"),
        Binding("3", "show_view('keywords')", "Keywords", id="view.keywords",
                tooltip="Keywords: per-keyword precision / recall / AUC and hero-image ranking"),
        Binding("4", "show_view('train')", "Train", id="view.train",
                tooltip="Train: settings, progress, loss curve and log"),
        Binding("5", "show_view('evaluate')", "Evaluate", id="view.evaluate",
                tooltip="Evaluate: results table, ROC curves with the operating point, per-keyword P/R"),
        Binding("6", "show_view('search')", "Search", show=False, id="view.search",
                tooltip="Search: images for a query of keywords, scenes, attribute ranges (-term subtracts), with scores"),
        Binding("7", "show_view('suspects')", "Suspects", show=False, id="view.suspects",
                tooltip="Suspects: likely missing / wrong tags; a accept, r reject, s skip (to a corrections file)"),
        Binding("m", "cycle_method(1)", "Method", id="method.next",
                tooltip="Next method (clip, sage_self, sage_cosine, sage_scene: those in the run)"),
        Binding("M", "cycle_method(-1)", "Previous method", show=False, id="method.previous",
                tooltip="Previous method"),
        Binding("]", "step_threshold(0.01)", "thr ±.01", key_display="[ ]", id="threshold.up",
                tooltip="Threshold +0.01 (] ) / -0.01 ([ )"),
        Binding("[", "step_threshold(-0.01)", "Threshold -0.01", show=False, id="threshold.down",
                tooltip="Threshold -0.01"),
        Binding("}", "step_threshold(0.05)", "Threshold +0.05", key_display="}", show=False,
                id="threshold.up5", tooltip="Threshold +0.05 (shift+])"),
        Binding("{", "step_threshold(-0.05)", "Threshold -0.05", key_display="{", show=False,
                id="threshold.down5", tooltip="Threshold -0.05 (shift+[)"),
        Binding("b", "best_threshold", "Threshold at best F1", show=False, id="threshold.best",
                tooltip="Set the threshold to the method's best-F1 threshold (chosen on validation images)"),
        Binding("t", "edit_threshold", "type thr", id="threshold.edit",
                tooltip="Type a threshold in [-1, 1] (enter applies, esc leaves the field)"),
        Binding("r", "start_training", "Run", id="train.start",
                tooltip="Run training with the settings of the Train view; the result becomes the current run"),
        Binding("escape", "escape", "Cancel training", key_display="esc", id="train.cancel",
                tooltip="Cancel the running training (or leave a text field)"),
        Binding("slash", "search_images", "Search images", key_display="/", show=False,
                id="images.search", tooltip="Search images by id, keyword or scene"),
    ]

    def __init__(self, train_defaults: dict | None) -> None:
        super().__init__()
        self.train_defaults = train_defaults

    def compose(self) -> ComposeResult:
        yield TopBar(id="topbar")
        with TabbedContent(initial="overview", id="views"):
            with TabPane(VIEWS[0][1], id="overview"):
                yield OverviewView(id="overview-view")
            with TabPane(VIEWS[1][1], id="images"):
                yield ImagesView(id="images-view")
            with TabPane(VIEWS[2][1], id="keywords"):
                yield KeywordsView(id="keywords-view")
            with TabPane(VIEWS[3][1], id="train"):
                yield TrainView(self.train_defaults, id="train-view")
            with TabPane(VIEWS[4][1], id="evaluate"):
                yield EvaluateView(id="evaluate-view")
            with TabPane(VIEWS[5][1], id="search"):
                yield SearchView(id="search-view")
            with TabPane(VIEWS[6][1], id="suspects"):
                yield SuspectsView(id="suspects-view")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_frame_shown)

    def _first_frame_shown(self) -> None:
        """Now the app may warm up (imports for training, heap freeze) in a worker."""
        warm_up = getattr(self.app, "warm_up", None)
        if warm_up is not None:
            warm_up()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "escape":  # cancels training, else leaves a text field; hidden otherwise
            return True if self.app.training or isinstance(self.focused, Input) else False
        if action == "start_training":
            return None if self.app.training else True  # shown disabled while training
        if action == "cycle_method":
            return True if self.app.session.has_run else None
        return True

    @property
    def current_view(self) -> str:
        return self.query_one("#views", TabbedContent).active

    def on_keywords_view_image_chosen(self, event: KeywordsView.ImageChosen) -> None:
        self.action_show_view("images")
        self.query_one(ImagesView).show_image(event.row)

    def on_search_view_image_chosen(self, event: SearchView.ImageChosen) -> None:
        self.on_keywords_view_image_chosen(event)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        for view in event.pane.query(StateView):
            view.flush()

    def action_show_view(self, view: str) -> None:
        tabs = self.query_one("#views", TabbedContent)
        tabs.active = view
        pane = tabs.get_pane(view)
        for state_view in pane.query(StateView):
            state_view.flush()
        # a list or a button, never a text field: the view keys must keep working
        targets = [w for w in pane.query("DataTable, Button") if w.focusable]
        if targets:
            targets[0].focus()
        else:
            self.set_focus(None)

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
            self.action_show_view(self.current_view)

    def action_edit_threshold(self) -> None:
        if not isinstance(self.focused, Input):
            self._focus_before = self.focused
        inp = self.query_one("#threshold-input", Input)
        inp.focus()
        inp.select_all()

    def action_start_training(self) -> None:
        self.action_show_view("train")
        self.query_one(TrainView).request_start()

    def action_escape(self) -> None:
        if self.app.training:
            self.app.cancel_training()
        elif self.focused is not None and self.focused.id == "threshold-input":
            self.restore_focus()
        elif isinstance(self.focused, Input):
            self.set_focus(None)

    def action_search_images(self) -> None:
        self.action_show_view("images")
        self.query_one("#image-search", Input).focus()
