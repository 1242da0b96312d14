"""The peers' training steps on a CUDA GPU, 64 px: PyTorch's DCGAN recipe (experiments/pytorch_dcgan.py, float32,
NCHW and channels-last) and lightweight-gan (`Trainer.train`, one step of its own loop on real faces, float32 and
with its --amp, and with its loader replaced by one batch in memory), each at batch 32 and 128, images/s as the
median of turns.

Usage: python3 experiments/gpu_peers.py FACES_DIR [--turns 5] [--steps 20] [--json OUT.json]

Run where PyTorch sees a GPU, in an environment of its own (never a dependency of the project); lightweight-gan from
`pip install lightweight-gan` (it needs CUDA). The project's own step needs TensorFlow on that machine:
`python -m anime_dcgan.bench` there.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pytorch_dcgan import on_random_faces  # noqa: E402


def rate(step, batch: int, turns: int, steps: int, warmup: int = 5) -> float:
    """Median images/s of `step()` over `turns` turns of `steps` calls, after `warmup` calls."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    rates = []
    for _ in range(turns):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        rates.append(steps * batch / (time.perf_counter() - start))
    return statistics.median(rates)


def dcgan(batch: int, channels_last: bool, turns: int, steps: int) -> float:
    model, real = on_random_faces(batch, channels_last, "cuda")
    return rate(lambda: model.step(real), batch, turns, steps)


def lightweight(faces: str, batch: int, amp: bool, turns: int, steps: int, in_memory: bool = False) -> float:
    """lightweight-gan's steps reading `faces` with its own loader, or (`in_memory`) one batch of them over and over."""
    import itertools

    from lightweight_gan import Trainer

    with tempfile.TemporaryDirectory() as scratch:
        trainer = Trainer(base_dir=scratch, image_size=64, batch_size=batch, amp=amp, use_aim=False,
                          save_every=10**9, evaluate_every=10**9, num_workers=8)  # fmt: skip
        trainer.set_data_src(faces)
        if in_memory:
            trainer.loader = itertools.repeat(next(trainer.loader))
        trainer.steps = 25_001  # past its warm-up checks and every-100-steps sample grids: the steady loop
        return rate(trainer.train, batch, turns, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faces")
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = {}
    print(f"{torch.cuda.get_device_name()}, PyTorch {torch.__version__}", flush=True)
    faces = tempfile.TemporaryDirectory()  # each face ten times: lightweight-gan's loader restarts every pass
    for path in sorted(Path(args.faces).glob("*.png")):
        for copy in range(10):
            (Path(faces.name) / f"{copy}_{path.name}").symlink_to(path.resolve())
    for batch in (32, 128):
        for channels_last in (False, True):
            name = f"PyTorch DCGAN step (float32, {'channels-last' if channels_last else 'NCHW'}, batch {batch})"
            rows[name] = dcgan(batch, channels_last, args.turns, args.steps)
            print(f"{name:60} {rows[name]:10.1f}", flush=True)
        for amp, in_memory in ((False, False), (True, False), (True, True)):
            source = ", one batch in memory" if in_memory else ""
            name = f"lightweight-gan step ({'amp' if amp else 'float32'}, batch {batch}{source})"
            try:
                rows[name] = lightweight(faces.name, batch, amp, args.turns, args.steps, in_memory)
            except Exception as error:  # noqa: BLE001  a peer that fails is reported, the others still run
                print(f"{name:60} failed: {type(error).__name__}: {error}", flush=True)
                continue
            print(f"{name:60} {rows[name]:10.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"device": torch.cuda.get_device_name(), "images_per_s": rows}, indent=1))


if __name__ == "__main__":
    main()
