"""Draws docs/demo.png: the demo page in headless Chromium after pressing Draw with its defaults (seed 0, 16 faces).

Usage: python experiments/demo_picture.py [OUT.png]   (from the repository's root; needs Chromium, ChromeDriver,
Selenium and Gradio: apt-get install -y chromium chromium-driver, pip install -r requirements-dev.txt)
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(port: int, log: Path) -> subprocess.Popen:
    """The demo on 127.0.0.1:`port`, once it says it is serving."""
    command = [sys.executable, "-m", "anime_dcgan.demo", "--port", str(port)]
    with open(log, "w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
    deadline = time.monotonic() + 300
    while "Serving the demo at" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            sys.exit(f"the demo did not start:\n{log.read_text()}")
        time.sleep(0.2)
    return process


def chromium(width: int, height: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/demo.png")
    port = free_port()
    server = serve(port, Path(tempfile.mkdtemp()) / "demo.log")
    browser = chromium(1000, 760)
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 120, poll_frequency=0.2)
        wait.until(lambda _: browser.find_elements(By.ID, "draw"))
        browser.find_element(By.ID, "draw").click()
        shown = "const p = document.querySelector('#faces img'); return Boolean(p && p.complete && p.naturalWidth);"
        wait.until(lambda _: browser.execute_script(shown))
        time.sleep(1)  # the picture's fade-in
        browser.save_screenshot(str(out))
        print(f"wrote {out}")
    finally:
        browser.quit()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
