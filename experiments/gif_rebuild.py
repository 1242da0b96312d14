"""What rebuilding progress.gif costs after an epoch of a long run: every frame made afresh (labelled, reduced to a
palette), as `fit` did before it kept its frames, against `ProgressGif`, which makes each frame once and reuses it.

Usage: python experiments/gif_rebuild.py RUN_DIR   (from the repository's root; RUN_DIR/samples holds a run's grids)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's package

from anime_dcgan import outputs  # noqa: E402


def main(run_dir: Path) -> None:
    samples = run_dir / "samples"
    last = len(list(samples.glob("epoch_*.png")))
    if last < 2:
        sys.exit(f"error: {samples} needs the grids of at least 2 epochs")
    with tempfile.TemporaryDirectory() as out:
        fresh = outputs.ProgressGif(samples, Path(out) / "fresh.gif")
        start = time.perf_counter()
        fresh.on_epoch_end(last - 1)  # nothing made yet: every frame is made
        every_frame = time.perf_counter() - start
        kept = outputs.ProgressGif(samples, Path(out) / "kept.gif")
        kept.on_epoch_end(last - 2)  # the run's previous epoch made its frames
        start = time.perf_counter()
        kept.on_epoch_end(last - 1)
        reused = time.perf_counter() - start
    frames = len(outputs.frame_epochs(last, fresh.max_frames))
    print(f"epoch {last}, {frames} frames: every frame made {every_frame:.2f} s, frames kept {reused:.2f} s, "
          f"ratio {every_frame / reused:.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(Path(sys.argv[1]))
