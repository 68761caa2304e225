"""The web app as users meet it: time from upload to the candidates on screen, measured in a real browser,
against the CLI's ``inverse predict`` in the same run; and whether a second user is served while a first user's
long match runs.

    python benchmarks/app_timings.py [--repeats 3] [--out benchmarks/results] [--screenshot docs/app_match.png]

Rounds are interleaved: ``python -c 'import torch'`` (baseline), ``inverse predict inverse/pretrained/example.png
--samples 10`` in a fresh process, and the same target in the app (headless chromium through selenium, a fresh
page each time): seconds from the start of the upload, and from the Match click, to the ten candidates'
players on screen. Then, alone and while user 1's match with gradient refinement runs: user 2 opening the page,
rendering a patch on the Synth tab, and running a plain match. Writes ``app_timings.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, RESULTS, command_line, load_average, machine_info, write_results  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

from webapp import harness  # noqa: E402

EXAMPLE = REPO / "inverse" / "pretrained" / "example.png"
PATCH = REPO / "inverse" / "pretrained" / "example.patch.json"


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return time.perf_counter() - started


def open_seconds(driver, url: str) -> float:
    started = time.perf_counter()
    harness.open_page(driver, url)
    return time.perf_counter() - started


def synth_render_seconds(driver) -> float:
    """Synth tab: upload a patch JSON; seconds until its render is on the page."""
    harness.tab(driver, "Synth")
    started = time.perf_counter()
    harness.upload(driver, "synth-patch", PATCH)
    harness.wait(driver, 120).until(lambda d: f"loaded {PATCH.name}" in harness.text(d, "synth-status"))
    return time.perf_counter() - started


def start_refined_match(driver, url: str) -> None:
    """User 1: a match with gradient refinement (tens of seconds), clicked and left running."""
    harness.open_page(driver, url)
    driver.find_element(By.XPATH, "//*[@id='match-refine']//label[normalize-space()='gradient']").click()
    harness.upload(driver, "match-upload", EXAMPLE)
    harness.click(driver, "match-button")


def running(driver) -> bool:
    return "candidates for" not in harness.text(driver, "match-status")


def measure(repeats: int, screenshot: Path | None, scratch: Path) -> dict:
    python = sys.executable
    tmp = scratch / "tmp"
    tmp.mkdir()
    app = harness.AppProcess(tmp)
    user1 = harness.browser(scratch / "d1", size=(1400, 1700))
    user2 = harness.browser(scratch / "d2")
    readings: dict[str, list[float]] = {key: [] for key in (
        "import_torch_s", "cli_predict_s", "app_upload_to_screen_s", "app_click_to_screen_s",
        "user2_open_alone_s", "user2_synth_alone_s", "user2_match_alone_s",
        "user2_open_busy_s", "user2_synth_busy_s", "user2_match_busy_s", "user1_refined_match_s")}
    overlapped = []
    try:
        harness.open_page(user1, app.url)
        harness.match(user1, EXAMPLE)  # warm-up: first use of the model's code paths in the server
        for round_ in range(repeats):
            readings["import_torch_s"].append(wall([python, "-c", "import torch"]))
            readings["cli_predict_s"].append(wall([python, "-m", "inverse", "predict", str(EXAMPLE), "--samples",
                                                   "10", "--json"]))
            harness.open_page(user1, app.url)
            upload_s, click_s = harness.match(user1, EXAMPLE)
            readings["app_upload_to_screen_s"].append(upload_s)
            readings["app_click_to_screen_s"].append(click_s)
            if round_ == 0 and screenshot:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                user1.save_screenshot(str(screenshot))
            # user 2 alone
            readings["user2_open_alone_s"].append(open_seconds(user2, app.url))
            readings["user2_synth_alone_s"].append(synth_render_seconds(user2))
            harness.open_page(user2, app.url)
            readings["user2_match_alone_s"].append(harness.match(user2, EXAMPLE)[0])
            # user 2 while user 1's refined match runs
            started = time.perf_counter()
            start_refined_match(user1, app.url)
            readings["user2_open_busy_s"].append(open_seconds(user2, app.url))
            readings["user2_synth_busy_s"].append(synth_render_seconds(user2))
            harness.open_page(user2, app.url)
            readings["user2_match_busy_s"].append(harness.match(user2, EXAMPLE)[0])
            overlapped.append(running(user1))
            harness.wait(user1, 600).until(lambda d: not running(d))
            readings["user1_refined_match_s"].append(time.perf_counter() - started)
    finally:
        user1.quit()
        user2.quit()
        status, _ = app.stop()
    medians = {key: statistics.median(values) for key, values in readings.items()}
    medians["app_minus_cli_s"] = medians["app_upload_to_screen_s"] - medians["cli_predict_s"]
    return {"readings": readings, "median": medians, "user1_still_running_after_user2": overlapped,
            "app_exit_status": status, "app_left_files": sorted(p.name for p in tmp.iterdir())}


def markdown(results: dict) -> str:
    m = results["median"]
    busy = results["user1_still_running_after_user2"]
    return "\n".join([
        "# The web app: time to candidates in the browser, and a second user", "",
        f"Command: `{results['command']}`  ",
        f"Machine: {results['machine']['cpu_model']}, {results['machine']['cpus']} CPUs, torch "
        f"{results['machine']['torch']}; load average before {results['load_before']}, after "
        f"{results['load_after']}; median of {results['repeats']} interleaved rounds; headless chromium on the "
        "same machine.", "",
        "| what | median |", "|---|---:|",
        f"| `python -c 'import torch'` (baseline) | {m['import_torch_s']:.2f} s |",
        f"| `inverse predict example.png --samples 10` (fresh process, the CLI) | {m['cli_predict_s']:.2f} s |",
        f"| app: upload start -> 10 candidates on screen | {m['app_upload_to_screen_s']:.2f} s "
        f"({m['app_minus_cli_s']:+.2f} s vs the CLI) |",
        f"| app: Match click -> 10 candidates on screen | {m['app_click_to_screen_s']:.2f} s |", "",
        "A second user, alone and while user 1's match with `--refine gradient` runs "
        f"(user 1 still running when user 2 was done: {sum(busy)} of {len(busy)} rounds; user 1's refined match "
        f"took {m['user1_refined_match_s']:.1f} s):", "",
        "| user 2 | alone | while user 1's match runs |", "|---|---:|---:|",
        f"| opens the page | {m['user2_open_alone_s']:.2f} s | {m['user2_open_busy_s']:.2f} s |",
        f"| uploads a patch on the Synth tab until its render shows | {m['user2_synth_alone_s']:.2f} s | "
        f"{m['user2_synth_busy_s']:.2f} s |",
        f"| runs a plain match (upload -> candidates) | {m['user2_match_alone_s']:.2f} s | "
        f"{m['user2_match_busy_s']:.2f} s |", "",
        f"App exit status after SIGTERM: {results['app_exit_status']}; files left in its TMPDIR: "
        f"{results['app_left_files'] or 'none'}.", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--screenshot", type=Path, help="save the Match tab with its candidates here (PNG)")
    args = parser.parse_args()
    results = {"command": command_line(), "machine": machine_info(), "repeats": args.repeats,
               "load_before": load_average()}
    with tempfile.TemporaryDirectory() as scratch:
        results.update(measure(args.repeats, args.screenshot, Path(scratch)))
    results["load_after"] = load_average()
    text = markdown(results)
    write_results(args.out, "app_timings", results, text)
    print(text)


if __name__ == "__main__":
    main()
