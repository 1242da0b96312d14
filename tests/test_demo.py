"""The demo: its command's one-line errors and --bench without a browser, what the page does without the page, and
the page itself served on 127.0.0.1 and driven in headless Chromium with Selenium."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from anime_dcgan import images
from anime_dcgan.commands import demo

ROOT = Path(__file__).resolve().parent.parent
FACE = ROOT / "data" / "sample" / "000001.png"


# The command, without a browser.


def test_without_gradio_the_demo_says_how_to_get_it_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # `import gradio` raises ImportError
    assert demo.main(["--port", "7860"]) == 2
    assert capsys.readouterr().err == (
        'error: the demo needs Gradio: pip install "anime-dcgan[demo]" (or pip install gradio)\n'
    )


def test_a_model_that_cannot_be_loaded_is_one_line_before_serving(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "import_gradio", lambda: None)  # the model is loaded before the page is built
    monkeypatch.setattr(demo, "build_page", lambda *args: pytest.fail("built a page without a model"))
    assert demo.main(["--model", str(tmp_path / "nowhere")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("error: no generator at") and "pass a run folder" in error


def test_timed_is_the_median_of_its_runs_after_a_warm_up(monkeypatch):
    clock = iter([0.0, 5.0, 10.0, 11.0, 20.0, 22.0])  # three timed runs: 5 s, 1 s and 2 s
    monkeypatch.setattr(demo.time, "perf_counter", lambda: next(clock))
    runs = []
    assert demo.timed(lambda: runs.append(len(runs))) == 2.0
    assert runs == [0, 1, 2, 3]  # the warm-up, then the three


def test_bench_prints_how_long_a_draw_an_interpolation_and_a_projection_take(monkeypatch, capsys):
    timed = demo.timed  # once after its warm-up: the lines are the subject here, not steady figures
    monkeypatch.setattr(demo, "timed", lambda work, repeats=3: timed(work, 1))
    assert demo.main(["--bench"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    times = {re.sub(r"\s+\S+ s$", "", line): float(line.split()[-2]) for line in lines[1:]}
    assert list(times) == ["draw 64 faces (grid as PNG)", "interpolate 60 frames (GIF and MP4)",
                           f"project a face ({demo.PAGE_STEPS} steps, {demo.PAGE_STARTS} starts)"]  # fmt: skip
    assert all(seconds > 0 for seconds in times.values())
    assert lines[0].startswith("Timing the demo's work with the generator from pretrained")


# What the page does, without the page.


@pytest.mark.parametrize(
    "seed, message",
    [(-1, "seed -1 is out of range"), (2**32, f"seed {2**32} is out of range"), (None, "type a seed")],
)
def test_a_seed_out_of_range_is_a_message_saying_which_seeds_there_are(seed, message):
    with pytest.raises(demo.PageError, match=message) as error:
        demo.check_seed(seed)
    assert f"from 0 to {2**32 - 1}" in str(error.value)


def test_a_file_that_is_not_a_picture_and_a_huge_picture_are_messages(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a face\n")
    with pytest.raises(images.PictureError, match="notes.txt is not a picture: use a PNG, JPEG or WebP image"):
        images.read_picture(text)
    huge = tmp_path / "huge.png"
    Image.new("L", (images.MAX_SIDE + 1, 1)).save(huge)  # a small file of a huge picture
    with pytest.raises(images.PictureError, match=f"huge.png is {images.MAX_SIDE + 1}x1 pixels: use a picture of at most"):
        images.read_picture(huge)
    assert images.read_picture(FACE).shape == (64, 64, 3)


def test_interpolation_seeds_are_two_or_more_whole_numbers():
    assert demo.parse_seeds("3, 17,42") == [3, 17, 42]
    with pytest.raises(demo.PageError, match="two seeds or more"):
        demo.parse_seeds("3")
    with pytest.raises(demo.PageError, match="the seeds must be whole numbers separated by commas"):
        demo.parse_seeds("3,x")


def test_a_users_mistake_becomes_a_message_in_the_page_and_a_bug_stays_a_bug():
    class Error(Exception):  # gr.Error's way: a message shown in the page, as HTML
        def __init__(self, message, print_exception=True):
            super().__init__(message)
            self.print_exception = print_exception

    def event(seed):
        if seed == "bug":
            raise KeyError(seed)
        raise demo.PageError(f"seed <{seed}>\nis out of range")

    shown = demo.in_page(SimpleNamespace(Error=Error), event)
    with pytest.raises(Error, match="^seed &lt;x&gt; is out of range$") as error:
        shown("x")
    assert error.value.print_exception is False  # no traceback in the server's log for a user's mistake
    with pytest.raises(KeyError):
        shown("bug")


@pytest.fixture(scope="module")
def studio():
    from anime_dcgan import sampling

    return demo.Studio(sampling.load_generator(), steps=5, starts=2)


def test_the_page_draws_what_generate_draws_and_walks_from_a_latent_to_a_seeds_face(studio):
    from anime_dcgan import sampling
    from anime_dcgan.images import make_grid

    generator = studio.generator
    assert np.array_equal(studio.draw(5, 4, 1.0), make_grid(sampling.generate_faces(generator, 4, 5)))
    truncated = sampling.draw(generator, sampling.truncate(sampling.latent_noise(4, 100, 5), 0.5))
    assert np.array_equal(studio.draw(5, 4, 0.5), make_grid(truncated))
    latent = sampling.latent_noise(1, 100, 99)[0]
    assert np.array_equal(studio.blend(latent, 7, 0), sampling.draw(generator, latent[None])[0])
    assert np.array_equal(studio.blend(latent, 7, 1), sampling.generate_faces(generator, 1, 7)[0])
    with pytest.raises(demo.PageError, match="upload a picture of a face first"):
        studio.blend(None, 7, 0.5)


def test_interpolation_writes_a_gif_of_its_frames_and_an_mp4(studio):
    gif, mp4 = studio.interpolate("3,17", 12, 1.0, True)
    assert gif.name == "walk-3-17.gif" and mp4.name == "walk-3-17.mp4" and mp4.stat().st_size > 0
    with Image.open(gif) as animation:
        assert animation.n_frames == 12 and animation.size == (64, 64)


def test_projection_shows_the_target_as_the_generator_sees_it_and_its_nearest_face(studio, tmp_path):
    wide = tmp_path / "wide.jpg"
    Image.open(FACE).convert("RGB").resize((120, 90)).save(wide)
    target, face, latent, summary = studio.project(str(wide))
    assert target.shape == face.shape == (64, 64, 3) and latent.shape == (100,)
    assert re.fullmatch(r"The nearest face in 5 steps from 2 starts: \d+\.\d dB PSNR from yours\.", summary)


# The page in a real browser.


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unavailable(reason: str):
    """Skip a browser test for `reason`, except in CI, which must run it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


def start_chromium():
    """Headless Chromium driven by Selenium, or the reason there is none."""
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "Selenium is not installed: pip install -r requirements-dev.txt"
    binary = next(filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None)
    driver = shutil.which("chromedriver") or next(filter(Path.is_file, [Path("/usr/bin/chromedriver")]), None)
    if not binary or not driver:
        return None, "no Chromium or ChromeDriver here: apt-get install -y chromium chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    try:
        return webdriver.Chrome(service=Service(driver), options=options), None
    except WebDriverException as error:
        return None, f"Chromium would not start: {error.msg}"


@pytest.fixture(scope="module")
def browser():
    chromium, reason = start_chromium()
    if chromium is None:
        unavailable(reason)
    yield chromium
    chromium.quit()


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    """The demo served by its command on a free port of 127.0.0.1: its address. Stopped as by Ctrl-C."""
    if importlib.util.find_spec("gradio") is None:
        unavailable('Gradio is not installed: pip install -r requirements-dev.txt (or "anime-dcgan[demo]")')
    port = free_port()
    log_path = tmp_path_factory.mktemp("demo") / "demo.log"
    with open(log_path, "w") as log:
        command = [sys.executable, "-m", "anime_dcgan.demo", "--port", str(port)]
        quiet = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONFAULTHANDLER": "1"}  # SIGABRT: its stacks
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=quiet)
    try:
        address = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 240
        while f"Serving the demo at {address} (Ctrl-C stops it)" not in log_path.read_text():
            assert process.poll() is None, f"the demo stopped:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"the demo did not start in 240 s:\n{log_path.read_text()}"
            time.sleep(0.1)
        yield address
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # its threads' stacks into the log
            process.wait()
            pytest.fail(f"the demo did not stop on Ctrl-C:\n{log_path.read_text()}")


@pytest.fixture(scope="module")
def page(browser, server):
    from selenium.webdriver.common.by import By

    browser.get(server)
    wait(browser, lambda: browser.find_elements(By.ID, "draw"))
    return browser


def wait(browser, condition, seconds: float = 60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, poll_frequency=0.1).until(lambda _: condition())


def image(browser, element_id: str) -> dict | None:
    """The picture shown in the element `element_id` once loaded: its src and natural size."""
    return browser.execute_script(
        "const picture = document.querySelector(`#${arguments[0]} img`);"
        "return picture && picture.complete && picture.naturalWidth"
        "  ? {src: picture.src, size: [picture.naturalWidth, picture.naturalHeight]} : null;",
        element_id,
    )


def new_image(browser, element_id: str, before: dict | None, seconds: float = 60) -> dict:
    return wait(browser, lambda: (shown := image(browser, element_id)) and shown != before and shown, seconds)


def says(browser, text: str, seconds: float = 60) -> None:
    from selenium.webdriver.common.by import By

    wait(browser, lambda: text in browser.find_element(By.TAG_NAME, "body").text, seconds)


def tab(browser, name: str) -> None:
    from selenium.webdriver.common.by import By

    next(button for button in browser.find_elements(By.CSS_SELECTOR, "button[role=tab]") if button.text == name).click()


def type_seed(browser, seed: str) -> None:
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.CSS_SELECTOR, "#draw-seed input")
    box.clear()
    box.send_keys(seed)


def upload(browser, path: Path) -> None:
    """Choose `path` in the Project tab's upload box, clearing the file chosen before."""
    from selenium.webdriver.common.by import By

    for clear in browser.find_elements(By.CSS_SELECTOR, "#upload button[aria-label=Clear]"):
        clear.click()
    wait(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
    browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(path))


def test_page_draws_the_faces_of_a_seed_and_a_surprise(page):
    from selenium.webdriver.common.by import By

    type_seed(page, "5")
    page.find_element(By.ID, "draw").click()
    drawn = new_image(page, "faces", None)
    assert drawn["size"] == [4 * 66 + 2, 4 * 66 + 2]  # 16 faces of 64 px, 4 a row, 2 px apart
    type_seed(page, "6")
    started = time.perf_counter()
    page.find_element(By.ID, "draw").click()
    again = new_image(page, "faces", drawn)
    seconds = time.perf_counter() - started
    print(f"the page answered a draw of 16 faces in {seconds:.2f} s")
    assert seconds < 5  # under a second on two idle cores; room here for a machine busy with other tests
    page.find_element(By.ID, "surprise").click()
    new_image(page, "faces", again)
    assert page.find_element(By.CSS_SELECTOR, "#draw-seed input").get_attribute("value") != "6"


def test_page_says_a_seed_is_out_of_range_and_draws_on(page):
    from selenium.webdriver.common.by import By

    tab(page, "Draw")
    before = image(page, "faces")
    type_seed(page, str(2**32))
    page.find_element(By.ID, "draw").click()
    says(page, f"seed {2**32} is out of range: type a whole number from 0 to {2**32 - 1}")
    type_seed(page, "1")
    page.find_element(By.ID, "draw").click()
    new_image(page, "faces", before)


def test_page_walks_through_seeds_as_an_animation_to_download(page):
    from selenium.webdriver.common.by import By

    tab(page, "Interpolate")
    page.find_element(By.ID, "walk").click()
    assert new_image(page, "walk-animation", None)["size"] == [64, 64]
    links = [link.get_attribute("href") for link in page.find_elements(By.CSS_SELECTOR, "#walk-files a")]
    assert [Path(link).name for link in links] == ["walk-3-17-42.gif", "walk-3-17-42.mp4"]


def test_page_says_a_text_file_is_not_a_picture(page, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a face\n")
    tab(page, "Project")
    upload(page, notes)
    says(page, "notes.txt is not a picture: use a PNG, JPEG or WebP image of a face")


def test_page_finds_the_nearest_face_to_an_uploaded_one_and_walks_from_it(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    tab(page, "Project")
    upload(page, FACE)
    assert new_image(page, "reconstruction", None, seconds=180)["size"] == [64, 64]
    assert image(page, "target")["size"] == [64, 64]
    assert "dB PSNR from yours" in page.find_element(By.ID, "projection-summary").text
    start = image(page, "walked")  # the walk's start: the nearest face (Gradio names files by their contents)
    assert start["src"] == image(page, "reconstruction")["src"]
    page.find_element(By.CSS_SELECTOR, "#walk-position input[type=range]").send_keys(Keys.END)  # to the random face
    assert new_image(page, "walked", start)["size"] == [64, 64]
