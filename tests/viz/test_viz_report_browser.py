"""The HTML report in a real headless browser: it loads without console output and draws."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from skelab.cli.main import main

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome", "chrome-headless-shell")


def _browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        f"no headless browser on PATH (looked for {', '.join(BROWSERS)}); "
        "install one, e.g. `apt-get install chromium`"
    )


@pytest.mark.slow
def test_report_loads_without_console_output_and_the_player_draws(tiny_run, tmp_path):
    browser = _browser()
    assert main(["viz", "run", str(tiny_run)]) == 0
    page = tiny_run / "viz" / "report.html"

    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # tests may run as root in containers
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",  # 3 s of page time: about 45 player frames
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []  # the page logs nothing, so any line is an error or a warning
    canvas = re.search(r"<canvas[^>]*id=\"player\"[^>]*>", done.stdout)
    assert canvas is not None, done.stdout[:2000]
    frames = int(re.search(r'data-frames="(\d+)"', canvas.group(0)).group(1))
    pixels = int(re.search(r'data-pixels="(\d+)"', canvas.group(0)).group(1))
    assert frames >= 10  # it animates
    assert pixels > 200  # the first frame has bones on it, not just a blank canvas
