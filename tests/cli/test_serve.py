"""`mmkg-tui serve`: the explorer through textual-serve, on loopback. The page is
fetched over HTTP; one key press goes through a real headless Chromium (skipped,
with the reason, when no browser or driver is installed). The browser test saves
a screenshot to /tmp/explorer-serve.png."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("textual_serve", reason="textual-serve is not installed (pip install textual-serve)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "MMKG_TUI_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "mmkg_tui", "serve", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):  # the server answers within seconds; poll instead of sleeping a fixed time
        try:
            urllib.request.urlopen(url, timeout=1).read()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"serve exited: {proc.stdout.read()}")
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_serve_help_shows_loopback_default(capsys):
    from mmkg_tui.cli.main import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "8000" in out


def test_serve_rejects_a_bad_port(capsys):
    from mmkg_tui.cli.main import main

    assert main(["serve", "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err


def test_serve_command_runs_the_app_with_the_data_options():
    import argparse

    from mmkg_tui.cli.commands.serve import app_command

    cmd = app_command(argparse.Namespace(data="my data.csv", run=None, embeddings=None, clip_model=None,
                                         clip_pretrained=None, strict=True))
    assert cmd.endswith("-m mmkg_tui --data 'my data.csv' --strict")


def test_serve_answers_on_loopback(server):
    page = urllib.request.urlopen(server, timeout=10).read().decode()
    assert "mmkg-tui" in page and "textual" in page.lower()


def _browser():
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("no headless browser here (apt-get install -y chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800"):
        options.add_argument(arg)
    from selenium.webdriver.chrome.service import Service

    return webdriver.Chrome(service=Service(driver), options=options)


def _settled_screenshot(browser, deadline: float) -> bytes:
    """A screenshot once the page stops changing (the loading screen animates; the
    main screen is still once loaded). xterm.js draws on a canvas, so there is no
    text in the page to read."""
    last = browser.get_screenshot_as_png()
    while time.monotonic() < deadline:
        time.sleep(3)
        now = browser.get_screenshot_as_png()
        if now == last:
            return now
        last = now
    pytest.fail("the page never settled")


def test_a_key_press_through_a_headless_browser(server, tmp_path):
    import json

    browser = _browser()
    try:
        browser.get(server)
        deadline = time.monotonic() + 300  # a bound, not a verdict: each tab starts a real process
        from selenium.webdriver.common.action_chains import ActionChains

        _settled_screenshot(browser, deadline)  # the terminal is on the page (a loaded machine: seconds)
        browser.find_element("tag name", "body").click()  # then focus it: a click before it exists is lost
        before = _settled_screenshot(browser, deadline)
        ActionChains(browser).send_keys("3").perform()  # the Keywords view
        after = before
        while after == before and time.monotonic() < deadline:  # a starved app may take seconds
            time.sleep(0.5)
            after = browser.get_screenshot_as_png()
        _settled_screenshot(browser, deadline)
        browser.save_screenshot("/tmp/explorer-serve.png")
        assert after != before  # the page changed after the key (the state file below says why)
        ActionChains(browser).send_keys("q").perform()  # quitting saves where the user left
        state = tmp_path / "home" / "state.json"
        while not state.is_file() and time.monotonic() < deadline:
            time.sleep(0.5)
        places = json.loads(state.read_text())["places"]
        assert [p["view"] for p in places.values()] == ["keywords"]  # the key reached the app
    finally:
        browser.quit()
