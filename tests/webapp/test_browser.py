"""The web app driven from a real headless browser (Debian's chromium + chromedriver, through selenium).

One app process (``python -m webapp``, as a user starts it, with ``--max-upload-mb 5``) on a free local port
with its own TMPDIR and HOME, one browser for the module (:mod:`webapp.harness`). Screenshots of each tab go to
``build/app-screenshots/`` (``APP_SCREENSHOTS`` overrides). Skipped, with the reason, where chromium or
chromedriver is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from inverse.refine import RefineConfig
from synth import fast_render
from synth.midi_file import MidiNote, write_midi
from synth.patch import load_patch
from synth.voice import render

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("APP_SCREENSHOTS", REPO / "build" / "app-screenshots"))
EXAMPLE = REPO / "inverse" / "pretrained" / "example.png"
NOISY = REPO / "specmask" / "pretrained" / "example_noisy.wav"

pytestmark = pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("chromedriver") is None,
                                reason="Debian's chromium and chromium-driver are not installed (.ci/run installs "
                                       "them): the browser tests of the web app are skipped")
harness = pytest.importorskip("webapp.harness")
from selenium.webdriver.common.by import By  # noqa: E402

from webapp.harness import click, count, open_page, tab, text, upload, wait  # noqa: E402


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp, home = tmp_path_factory.mktemp("app") / "tmp", tmp_path_factory.mktemp("home")
    tmp.mkdir()
    # The machine's fast render, where it is built (the app only reads it): with the empty HOME alone the app would
    # render on the eager path, ~4x slower (`auto` never builds)
    process = harness.AppProcess(tmp, "--max-upload-mb", "5", home=home,
                                 env={"SYNTH_CACHE_DIR": str(fast_render.cache_root())})
    process.home = home
    yield process
    process.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = harness.browser(tmp_path_factory.mktemp("downloads"))
    yield driver
    driver.quit()


def screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def test_match_shows_ten_playable_candidates_and_a_patch_downloads(app, browser):
    open_page(browser, app.url)
    checked = browser.find_element(By.CSS_SELECTOR, "#match-refine input[type=radio]:checked")
    assert checked.get_attribute("value") == RefineConfig.method == "gradient"  # the CLI's default, too
    # no refinement here (it adds ~15 s on 2 cores and is tested without the browser)
    browser.find_element(By.XPATH, "//*[@id='match-refine']//label[.//input[@value='none']]").click()
    harness.match(browser, EXAMPLE)
    assert count(browser, "#match-results audio") == 10
    assert count(browser, "#match-results img.spectrogram") == 11
    assert "10 candidates for example.png" in text(browser, "match-status")
    assert count(browser, "#match-download a.download-all") == 1
    screenshot(browser, "match")

    browser.find_element(By.CSS_SELECTOR, "#match-results a.download-patch").click()
    patch = browser.downloads / "rank01.patch.json"
    wait(browser, 30).until(lambda d: patch.exists() and patch.stat().st_size > 0)
    audio = render(load_patch(patch)[None])[0]
    assert audio.isfinite().all() and float(audio.abs().max()) > 1e-3


def test_a_candidate_opens_in_the_synth_tab_and_plays_a_phrase(app, browser, tmp_path):
    click(browser, "open-button")
    wait(browser, 60).until(lambda d: "candidate #1" in text(d, "synth-status"))
    assert browser.find_element(By.CSS_SELECTOR, "#synth-spectrogram img").is_displayed()
    pitch = browser.find_element(By.CSS_SELECTOR, "#synth-note_pitch input[type=number]").get_attribute("value")
    best = load_patch(browser.downloads / "rank01.patch.json")
    assert float(pitch) == pytest.approx(24 + 72 * float(best[0]), abs=1e-3)
    click(browser, "synth-play")  # the candidate played as the phrase box's phrase
    wait(browser, 60).until(lambda d: "played 7 note(s)" in text(d, "synth-status"))
    assert count(browser, "#synth-phrase-audio audio") == 1
    phrase = browser.find_element(By.CSS_SELECTOR, "#synth-phrase textarea")
    phrase.clear()
    phrase.send_keys("C4 X4")
    click(browser, "synth-play")
    wait(browser, 60).until(lambda d: "error: 'X4' is not a note" in text(d, "synth-status"))
    write_midi(tmp_path / "tune.mid", [MidiNote(0.5 * k, 0.5, 60 + 4 * k, 100, 0) for k in range(3)])
    upload(browser, "synth-midi", tmp_path / "tune.mid")  # a MIDI file's notes instead of the box's
    click(browser, "synth-play")
    wait(browser, 60).until(lambda d: "played 3 note(s)" in text(d, "synth-status"))
    click(browser, "synth-soundfont-button")  # the candidate as a sampled instrument, downloaded
    wait(browser, 60).until(lambda d: "wrote patch.sf2" in text(d, "synth-status"))
    browser.find_element(By.CSS_SELECTOR, "#synth-soundfont a").click()
    font = browser.downloads / "patch.sf2"
    wait(browser, 30).until(lambda d: font.exists() and font.stat().st_size > 1_000_000)
    assert font.read_bytes()[:4] == b"RIFF" and font.read_bytes()[8:12] == b"sfbk"
    screenshot(browser, "synth")


def test_answer_now_ends_the_refinement_and_answers_from_it(app, browser, tmp_path):
    open_page(browser, app.url)  # gradient refinement, the default: ~10 s of steps on 2 cores (after the
    # tests that read the first match's candidates)
    burst = np.random.default_rng(0).normal(0.0, 0.3, 8000) * np.exp(-np.arange(8000) / 2000.0)
    soundfile.write(tmp_path / "burst.wav", burst.astype(np.float32), 16000)  # no pitch: no pitch check to wait for
    upload(browser, "match-upload", tmp_path / "burst.wav")
    click(browser, "match-button")
    page = lambda d: d.find_element(By.TAG_NAME, "body").text
    wait(browser, 60).until(lambda d: "ranking" in page(d) or "refining" in page(d))  # the match is running
    click(browser, "match-now")
    wait(browser, 120).until(lambda d: "candidates for" in text(d, "match-status"))
    status = text(browser, "match-status")
    assert "answered now, after" in status and "of 20 refinement steps" in status, status
    assert count(browser, "#match-results audio") == 10  # (a press with no match running: the unit tests)


def test_enhance_returns_audio_figure_and_mask(app, browser):
    open_page(browser, app.url)  # a fresh page: this test needs no match before it (`-k enhance` runs it alone)
    tab(browser, "Enhance")
    upload(browser, "enhance-upload", NOISY)
    click(browser, "enhance-button")
    wait(browser, 120).until(lambda d: "real-time factor" in text(d, "enhance-status"))
    assert browser.find_element(By.CSS_SELECTOR, "#enhance-figure img").is_displayed()
    assert browser.find_element(By.CSS_SELECTOR, "#enhance-mask img").is_displayed()
    assert count(browser, "#enhance-exponent input") >= 1  # the mask controls: strength, floor, exponent
    assert "speech" in text(browser, "enhance-model")  # the shipped models to choose from
    screenshot(browser, "enhance")


def test_bad_uploads_get_a_message_in_the_page(app, browser, tmp_path):
    (tmp_path / "notes.wav").write_text("these are my notes, not a sound")
    soundfile.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    for name, message in (("notes.wav", "error: notes.wav: expected an audio file"),
                          ("quiet.wav", "error: quiet.wav: the first 4.088 s are silent")):
        open_page(browser, app.url)
        upload(browser, "match-upload", tmp_path / name)
        click(browser, "match-button")
        wait(browser, 60).until(lambda d, m=message: m in text(d, "match-status"))
        assert "Traceback" not in browser.page_source
    screenshot(browser, "match-error")
    # an upload over the server's limit (--max-upload-mb 5) is refused by the page before it is sent
    (tmp_path / "huge.wav").write_bytes(b"\0" * 6_000_000)
    open_page(browser, app.url)
    browser.find_element(By.CSS_SELECTOR, "#match-upload input[type=file]").send_keys(str(tmp_path / "huge.wav"))
    wait(browser, 30).until(lambda d: 'exceed the maximum allowed size of 5.0 Mb: "huge.wav"' in
                            d.find_element(By.TAG_NAME, "body").text)


def test_stopping_the_app_removes_everything_it_wrote(app):
    status, output = app.stop()  # with the browser's tab still open
    assert status == 0 and "Traceback" not in output, output[-2000:]
    assert list(app.tmpdir.iterdir()) == [], output[-2000:]
    assert list(app.home.iterdir()) == [], output[-2000:]  # no caches or settings left in the user's home
