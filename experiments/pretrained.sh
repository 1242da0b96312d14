#!/usr/bin/env bash
# Usage: bash experiments/pretrained.sh FACES_DIR [RUN_DIR] [EPOCHS]   (from the repository's root)
# Trains the generator that ships in the package: the default recipe on FACES_DIR less the 1,000 faces
# `fit --holdout 1000` keeps out (resumable: run it again to go on), scores its weight average against those
# held-out faces with 1,000 and 5,000 generated faces, after writing it to anime_dcgan/pretrained/anime-faces-64.keras.
# Needs the FID Inception weights: --inception-weights's file in ANIME_DCGAN_INCEPTION, or a network connection.
set -euo pipefail
data=${1:?usage: bash experiments/pretrained.sh FACES_DIR [RUN_DIR] [EPOCHS]}
run=${2:-runs/pretrained}
epochs=${3:-150}
python=${PYTHON:-.venv/bin/python}

"$python" -m anime_dcgan.fit --data "$data" --holdout 1000 --epochs "$epochs" --seed 0 --out "$run" --verbose 2
holdout="$run/holdout"
"$python" - "$data" "$holdout" <<'PY'
import sys
from pathlib import Path
from anime_dcgan.data import find_image_files, split_holdout
source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
for file in split_holdout(find_image_files(source), 1000)[1]:
    if not (target / file.name).exists():
        (target / file.name).symlink_to(file.resolve())
PY
# The package's copy computes in float32, whatever the run trained in, so that it draws the same on any CPU.
"$python" - "$run/generator.keras" anime_dcgan/pretrained/anime-faces-64.keras <<'PY'
import sys
from anime_dcgan.cpu_layers import portable
from anime_dcgan.sampling import load_generator
portable(load_generator(sys.argv[1]), dtype="float32").save(sys.argv[2])
PY
for n in 1000 5000; do
  echo "n=$n: $("$python" -m anime_dcgan.evaluate --data "$holdout" --model pretrained --n "$n" 2>/dev/null | tail -2 | tr '\n' ' ')"
done
