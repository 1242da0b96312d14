#!/usr/bin/env bash
# Usage: bash experiments/variants.sh FACES_DIR [RUNS_DIR]   (from the repository's root)
# Trains every variant for 10 epochs on the same faces with the same seed, then draws docs/variants.png:
# one row per variant, all from the same noise.
set -euo pipefail
data=${1:?usage: bash experiments/variants.sh FACES_DIR [RUNS_DIR]}
runs=${2:-runs/variants}
python=${PYTHON:-.venv/bin/python}
common=(--data "$data" --epochs 10 --image-size 64 --width 32 --seed 0)

declare -A variants=(
  [bce]="--loss bce"
  [minimax]="--loss minimax"
  [lsgan]="--loss lsgan"
  [wgan]="--loss wgan"
  [wgan-gp]="--loss wgan-gp"
  [hinge]="--loss hinge"
  [smoothing]="--loss bce --label-smoothing 0.9"
  [leaky-relu]="--loss bce --g-activation leaky_relu"
  [dropout]="--loss bce --dropout 0.3"
  [threshold]="--loss bce --d-threshold 0.3"
  [rmsprop]="--loss bce --optimizer rmsprop --lr 1e-4"
  [sgd]="--loss bce --optimizer sgd --lr 0.01 --momentum 0.9"
)
order=(bce minimax lsgan wgan wgan-gp hinge smoothing leaky-relu dropout threshold rmsprop sgd)

for name in "${order[@]}"; do
  echo "== $name: ${variants[$name]}"
  start=$SECONDS
  # shellcheck disable=SC2086  # the flags are meant to split
  "$python" -m anime_dcgan.fit "${common[@]}" ${variants[$name]} --out "$runs/$name" --verbose 2 2>&1 | grep --line-buffered -vE "^(I0000|E0000|W0000|WARNING: All log)"
  echo "== $name took $((SECONDS - start)) s"
done

labels=()
for name in "${order[@]}"; do labels+=("${variants[$name]}"); done
"$python" -m anime_dcgan.compare "${order[@]/#/$runs/}" --labels "${labels[@]}" --out docs/variants.png
