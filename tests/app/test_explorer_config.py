"""The user's config file (TOML in the user config folder): theme, keymap overrides by
binding id, default data path and training settings; bad files are clear errors;
the theme picked in the palette is remembered; help shows the file's path."""

from __future__ import annotations

import pytest
from app_helpers import SIZE, isolated_home, make_app, plain, ready  # noqa: F401

from engine import api
from mmkg_tui.app.settings import UserSettings, config_path


def _write(isolated_home, text):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_config_file_is_read(isolated_home):
    path = _write(isolated_home, 'theme = "gruvbox"\ndata = "x.csv"\n[keymap]\n"threshold.up" = "plus"\n'
                                 '[training]\nepochs = 3\n')
    s = UserSettings.load()
    assert (s.theme, s.data, s.keymap, s.training, s.path) == ("gruvbox", "x.csv", {"threshold.up": "plus"},
                                                               {"epochs": 3}, str(path))


@pytest.mark.parametrize("text, field", [("colour = 1\n", "colour"), ("[training]\nepoch = 3\n", "training.epoch"),
                                         ("[keymap]\n\"method.next\" = 3\n", "keymap.method.next")])
def test_bad_config_names_the_file_and_field(isolated_home, text, field):
    path = _write(isolated_home, text)
    with pytest.raises(api.ConfigError) as err:
        UserSettings.load()
    assert str(path) in err.value.format() and field in err.value.format()


def test_broken_toml_is_a_config_error(isolated_home):
    _write(isolated_home, "theme = \n")
    with pytest.raises(api.ConfigError, match="TOML"):
        UserSettings.load()


async def test_keymap_theme_and_training_settings_apply(isolated_home):
    settings = UserSettings(theme="gruvbox", keymap={"threshold.up": "plus"}, training={"epochs": 3})
    app = make_app(threshold=0.5, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "gruvbox"
        await pilot.press("plus")
        assert app.threshold == pytest.approx(0.51)
        await pilot.press("4")
        await pilot.pause()
        assert app.screen.query_one("#cfg-epochs").value == "3"
        app.theme = "nord"  # as the palette's theme picker does
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        assert app.theme == "nord"  # remembered


async def test_help_shows_the_config_path(isolated_home):
    app = make_app(run=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert str(config_path()) in plain(app.screen.query_one("#help-table"), width=200)
