"""A web page to play with the faces: `python -m anime_dcgan.demo` serves one on http://127.0.0.1:7860 (the
generator that ships with the package; `--model runs/faces` for a run's). Three tabs: draw (seed, count, truncation),
interpolate (seeds -> an animation to watch and download) and project (upload a face -> the generator's nearest face
-> a walk from it to a random one). Needs Gradio: pip install "anime-dcgan[demo]". `--bench` prints how long the
page's work takes on this machine instead of serving it."""

from __future__ import annotations

import argparse
import functools
import html
import inspect
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from anime_dcgan.commands import UsageError, at_least, command, import_tensorflow, program_name
from anime_dcgan.commands.generate import seed_list
from anime_dcgan.config import BUNDLED_SAMPLE
from anime_dcgan.errors import UserError
from anime_dcgan.images import make_grid, read_picture

NEEDS_GRADIO = 'the demo needs Gradio: pip install "anime-dcgan[demo]" (or pip install gradio)'
MAX_SEED = 2**32 - 1
MAX_FACES = 64  # a draw on the page
MAX_FRAMES = 240  # an interpolation on the page: ten seconds at 24 frames a second
FPS = 24
MAX_UPLOAD = "20mb"
# Projection on the page: a few seconds on two CPU cores (`project`'s own 200 steps from 8 starts take three times
# as long).
PAGE_STEPS, PAGE_STARTS = 100, 4
# Faces of 64 px shown as large as their box allows, their pixels sharp instead of blurred.
CSS = ".face img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"


class PageError(UserError):
    """Something typed or uploaded into the page that cannot be used: the page shows the message and serves on."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name("anime_dcgan.demo"), description=__doc__)
    parser.add_argument("--model", default="pretrained", help="run folder (uses its generator.keras), a .keras file, "
                        "or 'pretrained': the generator that ships with the package (default)")
    parser.add_argument("--port", type=at_least(1), default=7860, help="port to serve on (default: 7860)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default: 127.0.0.1, this machine "
                        "only; 0.0.0.0 serves the local network)")
    parser.add_argument("--share", action="store_true", help="also serve through a public Gradio link for 72 hours")
    parser.add_argument("--bench", action="store_true", help="print how long drawing 64 faces, an interpolation of "
                        "60 frames and a projection take on this machine, and serve nothing")
    return parser


@command
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    gradio = None if args.bench else import_gradio()  # before TensorFlow: a missing Gradio is said at once
    import_tensorflow()  # only once the command line is read
    from anime_dcgan import sampling

    studio = Studio(sampling.load_generator(args.model))
    if args.bench:
        print(f"Timing the demo's work with the generator from {args.model} (median of 3 after a warm-up):")
        for name, seconds in bench(studio):
            print(f"{name:<44} {seconds:6.2f} s")
        return 0
    studio.draw(0, MAX_FACES, 1.0)  # a warm-up, so that the page's first draw is as quick as the next
    serve(build_page(studio, gradio), args)
    return 0


def import_gradio():
    """The gradio module, or a UserError saying how to install it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # a local demo reports nothing home
    try:
        import gradio
    except ImportError:
        raise UserError(NEEDS_GRADIO) from None
    return gradio


def check_seed(seed) -> int:
    """A seed typed into the page, as a whole number from 0 to MAX_SEED."""
    if seed is None or seed != seed:  # an empty box, or NaN
        raise PageError(f"type a seed: a whole number from 0 to {MAX_SEED}")
    if not 0 <= seed <= MAX_SEED or seed != int(seed):
        raise PageError(f"seed {seed} is out of range: type a whole number from 0 to {MAX_SEED}")
    return int(seed)


def check_between(value, low, high, name: str):
    if value is None or not low <= value <= high:
        raise PageError(f"{name} must be from {low} to {high}, not {value}")
    return value


def parse_seeds(text: str | None) -> list[int]:
    """Seeds typed as 3,17,42: two or more."""
    try:
        seeds = seed_list(text or "")
    except argparse.ArgumentTypeError as error:
        raise PageError(f"the seeds {error}") from None
    if len(seeds) < 2:
        raise PageError("an interpolation needs two seeds or more, e.g. 3,17")
    return seeds


class Studio:
    """What the page does, without the page: each method takes what was typed or uploaded, raises PageError for what
    cannot be used, and returns uint8 pictures or the files it wrote."""

    def __init__(self, generator, steps: int = PAGE_STEPS, starts: int = PAGE_STARTS):
        self.generator = generator
        self.latent_dim = generator.input_shape[-1]
        self.image_size = generator.output_shape[1]
        self.steps, self.starts = steps, starts
        self._files = tempfile.TemporaryDirectory(prefix="anime-dcgan-demo-")  # removed when the demo ends
        self.folder = Path(self._files.name)

    def draw(self, seed, count, psi) -> np.ndarray:
        """A grid of `count` faces from `seed`, truncated by `psi`: those `generate --seed S --n N` draws."""
        from anime_dcgan import sampling

        seed, psi = check_seed(seed), check_between(psi, 0, 1, "the truncation")
        count = int(check_between(count, 1, MAX_FACES, "the number of faces"))
        latent = sampling.truncate(sampling.latent_noise(count, self.latent_dim, seed), psi)
        return make_grid(sampling.draw(self.generator, latent))

    def interpolate(self, seeds: str, frames, psi, loop: bool = False) -> list[Path]:
        """A walk through the faces of `seeds` in `frames` frames, written as a GIF and, with imageio's ffmpeg
        plugin, an MP4: the files, the GIF first."""
        from anime_dcgan import sampling

        keys, psi = parse_seeds(seeds), check_between(psi, 0, 1, "the truncation")
        frames = int(check_between(frames, 2, MAX_FRAMES, "the number of frames"))
        latent = sampling.truncate(sampling.seed_latents(keys, self.latent_dim), psi)
        pictures = sampling.draw(self.generator, sampling.walk(latent, frames, loop))
        name = Path(tempfile.mkdtemp(dir=self.folder)) / f"walk-{'-'.join(map(str, keys))}"
        written = [sampling.write_animation(pictures, name.with_suffix(".gif"), FPS)]
        try:
            written.append(sampling.write_animation(pictures, name.with_suffix(".mp4"), FPS))
        except UserError:  # no ffmpeg plugin: the GIF alone
            pass
        return written

    def project(self, path) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """The uploaded picture as the generator sees it, the nearest face the generator finds for it, that face's
        noise, and a line saying how near it is."""
        from anime_dcgan import projection

        if not path:
            raise PageError("upload a picture of a face first")
        target = projection.fit_image(read_picture(path), self.image_size)
        found = projection.project(self.generator, target, steps=self.steps, starts=self.starts, progress=False)
        summary = (f"The nearest face in {self.steps} steps from {self.starts} starts: "
                   f"{projection.psnr(found.face, target):.1f} dB PSNR from yours.")  # fmt: skip
        return target, found.face, found.latent, summary

    def blend(self, latent, seed, t) -> np.ndarray:
        """The face at `t` on the walk from the noise `latent` (t = 0) to the face of `seed` (t = 1)."""
        from anime_dcgan import sampling

        if latent is None:
            raise PageError("upload a picture of a face first: the walk starts from its nearest face")
        other = sampling.seed_latents([check_seed(seed)], self.latent_dim)[0]
        t = check_between(t, 0, 1, "the position on the walk")
        return sampling.draw(self.generator, sampling.slerp(np.asarray(latent, np.float32), other, t)[None])[0]


def in_page(gr, function: Callable) -> Callable:
    """`function` as a page event: a UserError becomes a message in the page (gr.Error), and the server serves on."""

    @functools.wraps(function)
    def event(*args):
        try:
            return function(*args)
        except UserError as error:
            message = html.escape(" ".join(str(error).split()))  # Gradio shows it as HTML
            raise gr.Error(message, **supported(gr.Error, print_exception=False)) from None

    return event


def supported(function: Callable, **options) -> dict:
    """Those of `options` that `function` takes: Gradio's API moves between versions (the page's style went from
    gr.Blocks to launch() in Gradio 6)."""
    return {name: value for name, value in options.items() if name in inspect.signature(function).parameters}


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def build_page(studio: Studio, gr=None):
    """The page, as a gr.Blocks to launch: a tab each for drawing, interpolating and projecting."""
    gr = gr or import_gradio()
    style = {} if "css" in inspect.signature(gr.Blocks.launch).parameters else {"css": CSS}  # before Gradio 6
    with gr.Blocks(title="anime-dcgan: play with the faces", **style) as page:
        gr.Markdown(f"## Anime faces from a GAN\nEvery face comes from a seed: the same seed draws the same face "
                    f"here and with `python -m anime_dcgan.generate`. Faces are {studio.image_size} px.")  # fmt: skip
        with gr.Tab("Draw"):
            with gr.Row():
                seed = gr.Number(0, label=f"seed (0 to {MAX_SEED})", precision=0, elem_id="draw-seed")
                count = gr.Slider(1, MAX_FACES, value=16, step=1, label="faces", elem_id="draw-count")
                psi = gr.Slider(0, 1, value=1, step=0.05, label="truncation (1: none; lower: cleaner, less varied)")
            with gr.Row():
                draw = gr.Button("Draw", variant="primary", elem_id="draw")
                surprise = gr.Button("Surprise me", elem_id="surprise")
            grid = gr.Image(label="faces", format="png", interactive=False, elem_id="faces", elem_classes="face",
                            height=540)  # fmt: skip
            draw_event = in_page(gr, studio.draw)
            draw.click(draw_event, [seed, count, psi], grid)
            surprise.click(random_seed, None, seed).then(draw_event, [seed, count, psi], grid)
        with gr.Tab("Interpolate"):
            with gr.Row():
                seeds = gr.Textbox("3,17,42", label="seeds, in order", elem_id="walk-seeds")
                frames = gr.Slider(2, MAX_FRAMES, value=60, step=1, label=f"frames ({FPS} a second)")
                walk_psi = gr.Slider(0, 1, value=1, step=0.05, label="truncation")
                loop = gr.Checkbox(label="loop back to the first seed")
            walk = gr.Button("Walk", variant="primary", elem_id="walk")
            with gr.Row():
                animation = gr.Image(label="the walk", type="filepath", interactive=False, elem_id="walk-animation",
                                     elem_classes="face", height=320)  # fmt: skip
                downloads = gr.File(label="download", file_count="multiple", interactive=False, elem_id="walk-files")
            walk.click(in_page(gr, lambda *args: shown_and_saved(studio.interpolate(*args))),
                       [seeds, frames, walk_psi, loop], [animation, downloads])  # fmt: skip
        with gr.Tab("Project"):
            gr.Markdown(f"Upload a face: the page looks for the noise whose face is nearest to it "
                        f"({studio.steps} steps of gradient descent, a few seconds), then walks from that face to a "
                        "random one.")  # fmt: skip
            latent = gr.State(None)
            with gr.Row():
                upload = gr.File(label="a picture of a face (PNG, JPEG, WebP)", type="filepath", elem_id="upload")
                target = gr.Image(label="yours, as the generator sees it", interactive=False, elem_id="target",
                                  elem_classes="face", format="png", height=256)  # fmt: skip
                found = gr.Image(label="the generator's nearest face", interactive=False, elem_id="reconstruction",
                                 elem_classes="face", format="png", height=256)  # fmt: skip
            summary = gr.Markdown(elem_id="projection-summary")
            with gr.Row():
                other = gr.Number(random_seed, label="the random face's seed", precision=0, elem_id="other-seed")
                another = gr.Button("Another random face")
                position = gr.Slider(0, 1, value=0, step=0.05, label="from the nearest face (0) to the random one (1)",
                                     elem_id="walk-position")  # fmt: skip
            walked = gr.Image(label="on the walk", interactive=False, elem_id="walked", elem_classes="face",
                              format="png", height=256)  # fmt: skip
            blend = in_page(gr, studio.blend)
            upload.upload(in_page(gr, lambda path: start_walk(*studio.project(path))), upload,
                          [target, found, latent, summary, position, walked])  # fmt: skip
            another.click(random_seed, None, other).then(blend, [latent, other, position], walked)
            position.input(blend, [latent, other, position], walked, trigger_mode="always_last")
    return page


def start_walk(target, face, latent, summary):
    """The projection's outputs on the page, with the walk back at its start: the nearest face."""
    return target, face, latent, summary, 0, face


def shown_and_saved(files: list[Path]) -> tuple[str, list[str]]:
    """The GIF to show and every file to download."""
    return str(files[0]), [str(path) for path in files]


def launch(page, **options):
    """`page.launch(**options)` with the page's style and limits, returning at once (no thread lock): for the
    command and for a notebook, where `launch(page)` shows the page inline."""
    options = {"prevent_thread_lock": True, "show_error": True, "max_file_size": MAX_UPLOAD, "css": CSS, **options}
    return page.launch(**supported(page.launch, **options))


def serve(page, args) -> None:
    """Launch the page, say where, and serve until Ctrl-C."""
    try:
        _, local_url, share_url = launch(
            page, server_name=args.host, server_port=args.port, share=args.share, inline=False, quiet=True
        )
    except OSError as error:  # Gradio's words for a port in use are about its own options: say ours
        reason = "the port is in use" if "port" in str(error) else str(error)
        raise UsageError(f"cannot serve on {args.host}:{args.port}: {reason}: pass another --port or --host") from None
    shared = f" and {share_url}" if share_url else ""
    print(f"Serving the demo at {local_url}{shared} (Ctrl-C stops it)", flush=True)
    try:
        while page.is_running:
            time.sleep(0.1)
    except KeyboardInterrupt:
        print("Stopping the demo.", flush=True)
    finally:
        page.server.force_exit = True  # pages left open do not hold the stop up (Gradio's own waits 5 s for them)
        page.close()


def timed(work: Callable[[], object], repeats: int = 3) -> float:
    """Median seconds of `work` over `repeats` runs, after one more as a warm-up."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench(studio: Studio) -> list[tuple[str, float]]:
    """Seconds the page's work takes: a draw of 64 faces (grid and PNG), an interpolation of 60 frames (drawn and
    written) and a projection of one of the bundled faces (as the page does it)."""
    face = sorted(BUNDLED_SAMPLE.glob("*.png"))[0]
    png = studio.folder / "grid.png"
    return [
        ("draw 64 faces (grid as PNG)", timed(lambda: Image.fromarray(studio.draw(0, 64, 1.0)).save(png))),
        ("interpolate 60 frames (GIF and MP4)", timed(lambda: studio.interpolate("3,17,42", 60, 1.0))),
        (f"project a face ({studio.steps} steps, {studio.starts} starts)", timed(lambda: studio.project(face), 1)),
    ]
