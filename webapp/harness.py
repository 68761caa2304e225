"""Drive the app from outside, as a user does: the app in a child process (``python -m webapp``) and a headless
Debian chromium through selenium. Used by the browser tests (``tests/webapp/test_browser.py``) and
``benchmarks/app_timings.py``; selenium is imported only here.
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

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppProcess:
    """``python -m webapp --port P [args]`` with ``TMPDIR=tmpdir`` (and ``HOME=home`` when given, and the variables
    in ``env``); :meth:`stop` sends SIGTERM and returns the exit status and the output."""

    def __init__(self, tmpdir: Path, *args: str, home: Path | None = None, env: dict[str, str] | None = None,
                 startup_s: float = 120.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.tmpdir = tmpdir
        env = {**os.environ, "TMPDIR": str(tmpdir), **({"HOME": str(home)} if home else {}), **(env or {})}
        self.process = subprocess.Popen([sys.executable, "-m", "webapp", "--port", str(self.port), *args], cwd=REPO,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + startup_s
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"the app did not start: {self.process.communicate()[0][-2000:]}")
            time.sleep(0.25)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self, timeout_s: float = 60.0) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        output, _ = self.process.communicate(timeout=timeout_s)
        return self.process.returncode, output

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def browser(downloads: Path, size: tuple[int, int] = (1400, 1100)) -> webdriver.Chrome:
    """Headless chromium that saves downloads into ``downloads`` (``driver.downloads``)."""
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={size[0]},{size[1]}"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    driver.downloads = downloads
    return driver


def wait(driver, seconds: float, poll_s: float = 0.05) -> WebDriverWait:
    return WebDriverWait(driver, seconds, poll_frequency=poll_s)


def open_page(driver, url: str) -> None:
    driver.get(url)
    # the page renders its components one by one: wait for the last one the tests read first, not only the upload
    ready = ("#match-upload input[type=file]", "#match-refine input[type=radio]:checked")
    wait(driver, 60).until(lambda d: all(d.find_elements(By.CSS_SELECTOR, css) for css in ready))


def upload(driver, component: str, path: Path) -> None:
    """Upload ``path`` into the file component ``#component`` and wait until the page lists it."""
    driver.find_element(By.CSS_SELECTOR, f"#{component} input[type=file]").send_keys(str(path))
    # the page shows the name in two parts ("example", ".png") once the upload is done
    shown = lambda d: d.find_element(By.CSS_SELECTOR, f"#{component}").text.replace("\n", "")
    wait(driver, 30).until(lambda d: path.name in shown(d))


def click(driver, element_id: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#{element_id}").click()


def tab(driver, name: str) -> None:
    driver.find_element(By.XPATH, f"//button[@role='tab' and normalize-space()='{name}']").click()


def text(driver, element_id: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, f"#{element_id}").text


def count(driver, selector: str) -> int:
    return len(driver.find_elements(By.CSS_SELECTOR, selector))


def match(driver, path: Path, timeout_s: float = 180.0) -> tuple[float, float]:
    """Upload ``path`` on the Match tab, click Match, wait for the candidates' players; returns the seconds
    from the start of the upload and from the click to the candidates on screen."""
    started = time.perf_counter()
    upload(driver, "match-upload", path)
    clicked = time.perf_counter()
    click(driver, "match-button")
    wait(driver, timeout_s).until(lambda d: count(d, "#match-results audio") > 0 and "candidates for" in
                                  text(d, "match-status"))
    done = time.perf_counter()
    return done - started, done - clicked
