"""PyTorch's DCGAN recipe (pytorch/examples, dcgan/main.py), written here from its published hyperparameters, as a
peer to compare with on the same machine: nz 100, ngf = ndf = 64, batch 64, Adam(2e-4, betas 0.5, 0.999), BCE with
labels 1 and 0, weights from N(0, 0.02) and BatchNorm scales from N(1, 0.02), float32.

Usage: /tmp/fidenv/bin/python experiments/pytorch_dcgan.py {train FACES_DIR OUT MINUTES [--n 1000] |
       serve [--batch-size 128] [--channels-last] [--device cuda]}

Both in a PyTorch venv of their own, never a dependency of the project (`bash ../shared/tools/fid/setup.sh` makes
/tmp/fidenv, which has CPU torch, numpy and pillow). `train` trains for MINUTES of wall time on the faces (64 px),
then writes N generated faces as OUT/faces/*.png and OUT/summary.json, to score with
`python -m anime_dcgan.evaluate --images OUT/faces --data HELD_OUT`. `serve` runs training steps on random faces when
asked, for `python -m anime_dcgan.bench --peer-python /tmp/fidenv/bin/python` to time beside the project's step.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

NZ, NGF, NDF = 100, 64, 64


def generator() -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 8), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),
        nn.ConvTranspose2d(NGF, 3, 4, 2, 1, bias=False), nn.Tanh(),
    )  # fmt: skip


def discriminator() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )  # fmt: skip


def initialise(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGAN:
    """The recipe's networks, optimizers and one training step (D on real then fake, then G)."""

    def __init__(self, channels_last: bool = False, device: str = "cpu"):
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.device = torch.device(device)
        self.g, self.d = generator(), discriminator()
        for net in (self.g, self.d):
            net.apply(initialise)
            net.to(self.device, memory_format=self.memory_format)
        self.g_optimizer = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.d_optimizer = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.loss = nn.BCELoss()

    def noise(self, count: int) -> torch.Tensor:
        return torch.randn(count, NZ, 1, 1, device=self.device).to(memory_format=self.memory_format)

    def step(self, real: torch.Tensor) -> float:
        real = real.to(self.device, memory_format=self.memory_format)
        ones, zeros = (torch.full((real.shape[0],), label, device=self.device) for label in (1.0, 0.0))
        self.d.zero_grad()
        d_loss = self.loss(self.d(real).view(-1), ones)
        d_loss.backward()
        fake = self.g(self.noise(real.shape[0]))
        d_fake_loss = self.loss(self.d(fake.detach()).view(-1), zeros)
        d_fake_loss.backward()
        self.d_optimizer.step()
        self.g.zero_grad()
        g_loss = self.loss(self.d(fake).view(-1), ones)
        g_loss.backward()
        self.g_optimizer.step()
        return float((d_loss + d_fake_loss).detach())


def load_faces(folder: Path, size: int = 64) -> torch.Tensor:
    """Every image under `folder` at size x size, as NCHW float32 in [-1, 1]."""
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".bmp"))
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BICUBIC)) for p in paths])
    return torch.from_numpy(pixels).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def train(args) -> None:
    torch.manual_seed(args.seed)
    faces = load_faces(Path(args.faces))
    model = DCGAN(args.channels_last)
    deadline = time.monotonic() + 60 * args.minutes
    images = epochs = 0
    while time.monotonic() < deadline:
        order = torch.randperm(len(faces))
        for start in range(0, len(faces) - args.batch_size + 1, args.batch_size):
            loss = model.step(faces[order[start : start + args.batch_size]])
            images += args.batch_size
            if time.monotonic() >= deadline:
                break
        else:
            epochs += 1
            print(f"epoch {epochs}: {images} images, d_loss {loss:.3f}", flush=True)
    out = Path(args.out) / "faces"
    out.mkdir(parents=True, exist_ok=True)
    model.g.eval()  # BatchNorm's running statistics, as the recipe's saved generator samples
    with torch.no_grad():
        for first in range(0, args.n, 100):
            batch = model.g(model.noise(min(100, args.n - first)))
            pixels = ((batch.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8)
            for i, face in enumerate(pixels):
                Image.fromarray(face).save(out / f"{first + i:05d}.png")
    summary = {"peer": "pytorch-dcgan", "minutes": args.minutes, "images": images, "faces": len(faces)}
    (Path(args.out) / "summary.json").write_text(json.dumps(summary) + "\n")
    print(json.dumps(summary))


def on_random_faces(batch_size: int, channels_last: bool = False, device: str = "cpu") -> tuple[DCGAN, torch.Tensor]:
    """A new DCGAN (seed 0, cuDNN autotuning as the recipe sets it) and one batch of random faces to time it on."""
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    return DCGAN(channels_last, device), torch.rand(batch_size, 3, 64, 64, device=device) * 2 - 1


def serve(args) -> None:
    """Training steps on demand, for `python -m anime_dcgan.bench --peer-python` to time in turns with its own:
    prints one line that starts with "ready", then for each line N on standard input runs N steps on one batch of
    random faces and prints "done"; ends when standard input does."""
    model, batch = on_random_faces(args.batch_size, args.channels_last, args.device)
    layout = "channels-last" if args.channels_last else "NCHW"
    print(f"ready: PyTorch {torch.__version__}, {layout}, {torch.get_num_threads()} threads", flush=True)
    for line in sys.stdin:
        for _ in range(int(line)):
            model.step(batch)
        print("done", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    trainer = commands.add_parser("train")
    trainer.add_argument("faces")
    trainer.add_argument("out")
    trainer.add_argument("minutes", type=float)
    trainer.add_argument("--batch-size", type=int, default=64)
    trainer.add_argument("--n", type=int, default=1000, help="faces to write at the end")
    trainer.add_argument("--seed", type=int, default=0)
    trainer.add_argument("--channels-last", action="store_true")
    server = commands.add_parser("serve")
    server.add_argument("--batch-size", type=int, default=128)
    server.add_argument("--channels-last", action="store_true")
    server.add_argument("--device", default="cpu", help="cpu, or cuda for a GPU")
    args = parser.parse_args()
    train(args) if args.command == "train" else serve(args)


if __name__ == "__main__":
    main()
