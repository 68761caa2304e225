"""The web app driven from a real headless browser (Debian's chromium + chromedriver, through selenium).

One app process (``python -m webapp``, as a user starts it) on a free local port with its own TMPDIR, one
browser for the module. Screenshots of each tab go to ``build/app-screenshots/`` (``APP_SCREENSHOTS``
overrides). Skipped, with the reason, where chromium or chromedriver is not installed (``.ci/run`` installs
both).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile

from synth.patch import load_patch
from synth.voice import render

REPO = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SCREENSHOTS = Path(os.environ.get("APP_SCREENSHOTS", REPO / "build" / "app-screenshots"))
EXAMPLE = REPO / "inverse" / "pretrained" / "example.png"
NOISY = REPO / "specmask" / "pretrained" / "example_noisy.wav"

pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="Debian's chromium and chromium-driver are not installed (.ci/run installs "
                                       "them): the browser tests of the web app are skipped")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app as a user starts it; yields (url, its TMPDIR, the process)."""
    tmp = tmp_path_factory.mktemp("app")
    (tmp / "tmp").mkdir()
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp / "tmp")}
    process = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(port)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the app did not start: {process.communicate()[0][-2000:]}")
        time.sleep(0.5)
    yield url, tmp / "tmp", process
    if process.poll() is None:
        process.kill()
        process.communicate()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100",
                     "--disable-gpu"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    driver.downloads = downloads
    yield driver
    driver.quit()


def open_page(driver, url: str) -> None:
    driver.get(url)
    wait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#match-upload input[type=file]"))


def wait(driver, seconds: float) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=0.2)


def upload(driver, component: str, path: Path) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{component} input[type=file]").send_keys(str(path))
    # the page shows the name in two parts ("example", ".png") once the upload is done
    shown = lambda d: d.find_element(By.CSS_SELECTOR, f"#{component}").text.replace("\n", "")
    wait(driver, 30).until(lambda d: path.name in shown(d))


def tab(driver, name: str) -> None:
    driver.find_element(By.XPATH, f"//button[@role='tab' and normalize-space()='{name}']").click()


def screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def status(driver, component: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"#{component}").text


def test_match_shows_ten_playable_candidates_and_a_patch_downloads(app, browser):
    url, _, _ = app
    open_page(browser, url)
    upload(browser, "match-upload", EXAMPLE)
    browser.find_element(By.CSS_SELECTOR, "#match-button").click()
    wait(browser, 180).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#match-results audio")) == 10)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#match-results img.spectrogram")) == 11
    assert "10 candidates for example.png" in status(browser, "match-status")
    assert browser.find_elements(By.CSS_SELECTOR, "#match-download a.download-all")
    screenshot(browser, "match")

    browser.find_element(By.CSS_SELECTOR, "#match-results a.download-patch").click()
    patch = browser.downloads / "rank01.patch.json"
    wait(browser, 30).until(lambda d: patch.exists() and patch.stat().st_size > 0)
    audio = render(load_patch(patch)[None])[0]
    assert audio.isfinite().all() and float(audio.abs().max()) > 1e-3


def test_a_candidate_opens_in_the_synth_tab(app, browser):
    browser.find_element(By.CSS_SELECTOR, "#open-button").click()
    wait(browser, 60).until(lambda d: "candidate #1" in status(d, "synth-status"))
    assert browser.find_element(By.CSS_SELECTOR, "#synth-spectrogram img").is_displayed()
    pitch = browser.find_element(By.CSS_SELECTOR, "#synth-note_pitch input[type=number]").get_attribute("value")
    best = load_patch(browser.downloads / "rank01.patch.json")
    assert float(pitch) == pytest.approx(24 + 72 * float(best[0]), abs=1e-3)
    screenshot(browser, "synth")


def test_enhance_returns_audio_figure_and_mask(app, browser):
    tab(browser, "Enhance")
    upload(browser, "enhance-upload", NOISY)
    browser.find_element(By.CSS_SELECTOR, "#enhance-button").click()
    wait(browser, 120).until(lambda d: "real-time factor" in status(d, "enhance-status"))
    assert browser.find_element(By.CSS_SELECTOR, "#enhance-figure img").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, "#enhance-mask img").is_displayed()
    screenshot(browser, "enhance")


def test_bad_uploads_get_a_message_in_the_page(app, browser, tmp_path):
    url, _, _ = app
    (tmp_path / "notes.wav").write_text("these are my notes, not a sound")
    soundfile.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    for name, message in (("notes.wav", "error: notes.wav: expected an audio file"),
                          ("quiet.wav", "error: quiet.wav: the first 4.088 s are silent")):
        open_page(browser, url)
        upload(browser, "match-upload", tmp_path / name)
        browser.find_element(By.CSS_SELECTOR, "#match-button").click()
        wait(browser, 60).until(lambda d, m=message: m in status(d, "match-status"))
        assert "Traceback" not in browser.page_source
    screenshot(browser, "match-error")


def test_stopping_the_app_removes_everything_it_wrote(app):
    _, tmp, process = app
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output[-2000:]
    assert list(tmp.iterdir()) == [], output[-2000:]
