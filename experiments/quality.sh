#!/usr/bin/env bash
# Trains candidate recipes on the same training faces for the same number of images, then measures each one's FID
# and KID with 1,000 generated faces against 1,000 held-out faces it never trained on.
#
# Usage: bash experiments/quality.sh FACES_DIR EPOCHS WIDTH [RUNS_DIR] [CANDIDATE ...]   (from the repository's root)
#   FACES_DIR is split once into RUNS_DIR/faces/train and RUNS_DIR/faces/holdout (1,000 faces, the same split
#   that `fit --holdout 1000` makes); EPOCHS x (training faces // batch) x batch is the number of images seen:
#   200,448 for 58 epochs of the 3,500 training faces at batch 128, 200,448 at 64 and 202,304 at 32 or 16.
# Needs the FID Inception weights: --inception-weights's file in ANIME_DCGAN_INCEPTION, or a network connection.
set -euo pipefail
data=${1:?usage: bash experiments/quality.sh FACES_DIR EPOCHS WIDTH [RUNS_DIR] [CANDIDATE ...]}
epochs=${2:?EPOCHS}
width=${3:?WIDTH}
runs=${4:-runs/quality}
shift $(($# < 4 ? $# : 4))
python=${PYTHON:-.venv/bin/python}

# The first screens and long runs trained in float32, before --precision auto became the default; they name it.
f32="--precision float32"
# DiffAugment with colour: the default until the sixth screen; the candidates that ran under that default name it.
aug="--augment color,translation,cutout"
# Until the eleventh screen the default loss was bce, penalties applied every D update and the relativistic loss's
# gamma was 1 (R3GAN's): the candidates that ran then name them ($bce, --r1-every 1, --gamma 1). Until the twelfth
# the relativistic loss's learning rate was 2e-4: its candidates from before then name it (--lr 2e-4).
bce="--loss bce"
declare -A candidates=(
  [dcgan]="--preset dcgan $f32"
  [dcgan-ema]="--preset dcgan --ema 0.999 $f32"
  [dcgan-augment]="--preset dcgan $aug $f32"
  [dcgan-augment-ema]="--preset dcgan $aug --ema 0.999 $f32"
  [hinge-sn]="--loss hinge --spectral-norm $f32"
  [hinge-sn-augment-ema]="--loss hinge --spectral-norm $aug --ema 0.999 $f32"
  [bce-sn-augment-ema]="$bce --spectral-norm $aug --ema 0.999 $f32"
  [bce-r1-augment-ema]="$bce --r1 0.1 $aug --ema 0.999 $f32 --r1-every 1"
  [dcgan-b32]="--preset dcgan --batch-size 32 $f32"
  [dcgan-b32-ema]="--preset dcgan --batch-size 32 --ema 0.995 $f32"
  [resize]="--preset dcgan --upsample resize $f32"
  [resize-ema]="--preset dcgan --upsample resize --ema 0.999 $f32"
  [resize-augment-ema]="--preset dcgan --upsample resize $aug --ema 0.999 $f32"
  [hinge-sn-augment-ema-ttur]="--loss hinge --spectral-norm $aug --ema 0.999 --d-lr 4e-4 --g-lr 1e-4 $f32"
  # The default recipe from the sixth screen to the eleventh (DiffAugment without colour + EMA at batch 32, bce; on
  # this CPU, bfloat16). Since then the default is relativistic-gamma0.1-lazy16 (the eleventh), lr4e-4 (the twelfth).
  [default]="$bce"
  # DiffAugment with colour + EMA at the paper's batch of 128: the default before the batch-size screen.
  [augment-ema-b128]="$bce $aug --batch-size 128"
  # DiffAugment + EMA in bfloat16, with one generator forward pass per step (the shared-forward train_step).
  [dcgan-augment-ema-bf16]="--preset dcgan $aug --ema 0.999 --precision mixed_bfloat16"
  # That with a higher learning rate, with R1 on its BatchNorm discriminator, or both.
  [lr5e-4]="$bce $aug --batch-size 128 --lr 5e-4"
  [lr1e-3]="$bce $aug --batch-size 128 --lr 1e-3"
  [r1]="$bce $aug --batch-size 128 --r1 1 --r1-every 4"
  [lr5e-4-r1]="$bce $aug --batch-size 128 --lr 5e-4 --r1 1 --r1-every 4"
  # More, smaller updates for the same images seen (batch 32 is the default), and a second seed.
  [b64]="$bce $aug --batch-size 64"
  [b32]="$bce $aug --batch-size 32"
  [b16]="$bce $aug --batch-size 16"
  [b64-seed1]="$bce $aug --batch-size 64 --seed 1"
  [b32-seed1]="$bce $aug --batch-size 32 --seed 1"
  [b16-seed1]="$bce $aug --batch-size 16 --seed 1"
  # At batch 32: R1 strong and every 4th step, or weak and every 16th; and D learning twice as fast as G (TTUR).
  [b32-r1]="$bce $aug --batch-size 32 --r1 1 --r1-every 4"
  [b32-r1-weak]="$bce $aug --batch-size 32 --r1 0.1 --r1-every 16"
  [b32-ttur]="$bce $aug --batch-size 32 --d-lr 4e-4"
  # At batch 32: a generator that resizes then convolves; the hinge loss; both learning rates decaying over the
  # second half of the run (the decay follows --epochs, so these runs go straight to the full budget).
  [b32-resize]="$bce $aug --batch-size 32 --upsample resize"
  [b32-hinge]="$aug --batch-size 32 --loss hinge"
  [b32-decay]="$bce $aug --batch-size 32 --lr-decay 0.5"
  # At batch 32: DiffAugment without its colour transform; one-sided label smoothing (real target 0.9).
  [b32-translation-cutout]="$bce --batch-size 32 --augment translation,cutout"
  [b32-translation-cutout-seed1]="$bce --batch-size 32 --augment translation,cutout --seed 1"
  [b32-translation-cutout-smooth]="$bce --batch-size 32 --augment translation,cutout --label-smoothing 0.9"
  [b32-translation]="$bce --batch-size 32 --augment translation"
  [b32-smooth]="$bce $aug --batch-size 32 --label-smoothing 0.9"
  # The default with LeCam regularisation (Tseng et al. 2021) at two weights.
  [lecam-0.1]="$bce --lecam 0.1"
  [lecam-0.3]="$bce --lecam 0.3"
  # Issue 25's parts on the default: adaptive augmentation over the default transforms or with colour; the
  # relativistic loss with R1 and R2 (R3GAN's objective).
  [ada]="$bce --ada-target 0.6"
  [ada-color]="$bce --ada-target 0.6 $aug"
  [relativistic]="--loss relativistic --gamma 1 --r1-every 1 --lr 2e-4"
  [relativistic-seed1]="--loss relativistic --gamma 1 --seed 1 --r1-every 1 --lr 2e-4"
  # Balanced consistency regularisation at two weights; the residual networks, with the default loss and with the
  # relativistic one (R3GAN's pairing of a modern network and objective).
  [bcr-1]="$bce --bcr 1"
  [bcr-10]="$bce --bcr 10"
  [resnet]="$bce --architecture resnet"
  [resnet-relativistic]="--architecture resnet --loss relativistic --gamma 1 --r1-every 1 --lr 2e-4"
  # Each training face flipped left to right at random (x-flips, twice the faces): on the default, with another
  # seed, and with the relativistic loss.
  [mirror]="$bce --mirror"
  [mirror-seed1]="$bce --mirror --seed 1"
  [relativistic-mirror]="--loss relativistic --gamma 1 --mirror --r1-every 1 --lr 2e-4"
  # The relativistic loss with weaker R1 and R2 penalties (StyleGAN2's rule of thumb, 0.0002 x 64^2 / 32, gives 0.03).
  [relativistic-gamma0.1]="--loss relativistic --gamma 0.1 --r1-every 1 --lr 2e-4"
  [relativistic-gamma0.1-seed1]="--loss relativistic --gamma 0.1 --seed 1 --r1-every 1 --lr 2e-4"
  [relativistic-gamma0.03]="--loss relativistic --gamma 0.03 --r1-every 1 --lr 2e-4"
  # The same with both penalties lazy (every 16th D update, scaled by 16), which takes most of their cost off the step.
  [relativistic-gamma0.1-lazy16]="--loss relativistic --gamma 0.1 --r1-every 16 --lr 2e-4"
  [relativistic-gamma0.1-lazy16-seed1]="--loss relativistic --gamma 0.1 --r1-every 16 --seed 1 --lr 2e-4"
  # Weaker still: gamma 0.03 (the rule of thumb's) with its second seed and lazily; gamma 0.01.
  [relativistic-gamma0.03-seed1]="--loss relativistic --gamma 0.03 --seed 1 --r1-every 1 --lr 2e-4"
  [relativistic-gamma0.03-lazy16]="--loss relativistic --gamma 0.03 --r1-every 16 --lr 2e-4"
  [relativistic-gamma0.03-lazy16-seed1]="--loss relativistic --gamma 0.03 --r1-every 16 --seed 1 --lr 2e-4"
  [relativistic-gamma0.01]="--loss relativistic --gamma 0.01 --r1-every 1 --lr 2e-4"
  [relativistic-gamma0.01-lazy16]="--loss relativistic --gamma 0.01 --r1-every 16 --lr 2e-4"
  [relativistic-gamma0.01-lazy16-seed1]="--loss relativistic --gamma 0.01 --r1-every 16 --seed 1 --lr 2e-4"
  # Twelfth screen, on the default of the eleventh (relativistic, gamma 0.1, lazy, 2e-4): both learning rates doubled
  # (the default since), or quadrupled.
  [lr4e-4]="--lr 4e-4"
  [lr4e-4-seed1]="--lr 4e-4 --seed 1"
  [lr8e-4]="--lr 8e-4"
  [lr8e-4-seed1]="--lr 8e-4 --seed 1"
  # The eleventh screen's default with a minibatch standard deviation channel in D (ProGAN), against alike faces.
  [mbstd]="--minibatch-std --lr 2e-4"
  [mbstd-seed1]="--minibatch-std --seed 1 --lr 2e-4"
  # Thirteenth screen, on the twelfth's default: simultaneous updates (one pass of D serves both networks' updates).
  [simultaneous]="--updates simultaneous"
  [simultaneous-seed1]="--updates simultaneous --seed 1"
  # Simultaneous updates at half the rate, and with D learning at twice G's rate (TTUR).
  [simultaneous-lr2e-4]="--updates simultaneous --lr 2e-4"
  [simultaneous-ttur]="--updates simultaneous --d-lr 8e-4"
)
order=("$@")
[ ${#order[@]} -gt 0 ] || order=(dcgan dcgan-ema dcgan-augment dcgan-augment-ema hinge-sn hinge-sn-augment-ema
                                  bce-sn-augment-ema bce-r1-augment-ema hinge-sn-augment-ema-ttur)

"$python" - "$data" "$runs/faces" <<'EOF'
import sys
from pathlib import Path
from anime_dcgan.data import find_image_files, split_holdout
source, target = Path(sys.argv[1]), Path(sys.argv[2])
for name, files in zip(("train", "holdout"), split_holdout(find_image_files(source), 1000)):
    (target / name).mkdir(parents=True, exist_ok=True)
    for file in files:
        if not (target / name / file.name).exists():
            (target / name / file.name).symlink_to(file.resolve())
EOF

for name in "${order[@]}"; do
  out="$runs/w$width-e$epochs/$name"
  mkdir -p "$(dirname "$out")"
  start=$SECONDS
  # shellcheck disable=SC2086  # the flags are meant to split
  "$python" -m anime_dcgan.fit --data "$runs/faces/train" --epochs "$epochs" --width "$width" --seed 0 \
    ${candidates[$name]} --out "$out" --verbose 2 > "$out.log" 2>&1
  seconds=$((SECONDS - start))
  scores=$("$python" -m anime_dcgan.evaluate --data "$runs/faces/holdout" --model "$out" --n 1000 2>/dev/null \
    | grep -oE "(fid|kid)=[^ ]+( ± [^ ]+)?" | tr "\n" " ")
  echo "$name | $epochs epochs | ${seconds} s | $scores | ${candidates[$name]}" | tee -a "$runs/w$width-e$epochs.txt"
done
