#!/usr/bin/env bash
# Time to quality against the peers: the project's default (`fit` with no flags), the TensorFlow DCGAN tutorial's
# loop on the same networks (experiments/tutorial_loop.py) and PyTorch's DCGAN recipe (experiments/pytorch_dcgan.py,
# in its own venv), each trained for the same wall time on the same training faces, one after another on this
# machine, then scored against the held-out faces with 1,000 generated faces (`evaluate`, the same FID network).
#
# Usage: bash experiments/peers.sh RUNS_DIR MINUTES [PEER ...]   (from the repository's root)
#   RUNS_DIR/faces/{train,holdout}: the split experiments/quality.sh makes (3,500 and 1,000 faces). PEER is
#   default, tf-tutorial or pytorch-dcgan (all three if none). `fit` is stopped with SIGTERM at the deadline and
#   scored on the generator of its last finished epoch; its time includes TensorFlow's start, the others' does not.
#   TORCH_PYTHON: the PyTorch venv's python (default /tmp/fidenv/bin/python, made by ../shared/tools/fid/setup.sh).
# Needs the FID Inception weights: --inception-weights's file in ANIME_DCGAN_INCEPTION, or a network connection.
set -euo pipefail
runs=${1:?usage: bash experiments/peers.sh RUNS_DIR MINUTES [PEER ...]}
minutes=${2:?MINUTES}
shift 2
peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(default tf-tutorial pytorch-dcgan)
python=${PYTHON:-.venv/bin/python}
torch_python=${TORCH_PYTHON:-/tmp/fidenv/bin/python}
out=$runs/peers-${minutes}min
mkdir -p "$out"

score() {  # the evaluate flags of what a peer made -> "fid=... kid=..."
  "$python" -m anime_dcgan.evaluate --data "$runs/faces/holdout" --n 1000 "$@" 2>/dev/null \
    | grep -oE "(fid|kid)=[^ ]+( ± [^ ]+)?" | tr "\n" " "
}

for peer in "${peers[@]}"; do
  dir=$out/$peer
  case $peer in
    default)
      timeout -s TERM "${minutes}m" "$python" -m anime_dcgan.fit --data "$runs/faces/train" --out "$dir" \
        --epochs 100000 --verbose 2 > "$dir.log" 2>&1 || true
      [ -f "$dir/history.csv" ] || { echo "$peer finished no epoch in $minutes min: give it longer" >&2; exit 1; }
      epochs=$(($(wc -l < "$dir/history.csv") - 1))  # finished epochs: the generator scored is the last one's
      batch=$(grep -oE '"batch_size": [0-9]+' "$dir/config.json" | grep -oE '[0-9]+$')
      faces=$(find -L "$runs/faces/train" -type f | wc -l)
      images=$((epochs * (faces / batch) * batch))
      scores=$(score --model "$dir") ;;
    tf-tutorial)
      "$python" experiments/tutorial_loop.py "$runs/faces/train" "$dir" "$minutes" > "$dir.log" 2>&1
      images=$(tail -1 "$dir.log" | grep -oE '"images": [0-9]+' | grep -oE '[0-9]+')
      scores=$(score --model "$dir") ;;
    pytorch-dcgan)
      "$torch_python" experiments/pytorch_dcgan.py train "$runs/faces/train" "$dir" "$minutes" > "$dir.log" 2>&1
      images=$(tail -1 "$dir.log" | grep -oE '"images": [0-9]+' | grep -oE '[0-9]+')
      scores=$(score --images "$dir/faces") ;;
    *) echo "unknown peer $peer: default, tf-tutorial or pytorch-dcgan" >&2; exit 2 ;;
  esac
  rate=$(awk "BEGIN { printf \"%.1f\", $images / ($minutes * 60) }")
  echo "$peer | $minutes min | $images images | $rate images/s | $scores" | tee -a "$out.txt"
done
