#!/usr/bin/env bash
# The prepared script for a lent GPU given to issue 16 (the `device` tool: one H200, ~10 minutes a command):
# `specmask train` on the GPU for the time there is, the mask model and its log under $OUT. Issue 13's script is
# benchmarks/gpu_session.sh; a lease runs one of them.
#
#   OUT=dir bash benchmarks/gpu_mask_session.sh [SECONDS]     # SECONDS: the whole script's budget (default 560)
#
# Its training sounds travel with it (the device has no espeak-ng or fluidsynth): make them here once, as 16 kHz mono
# WAVs (what training reads; 35 MiB instead of 63 with fluidsynth's stereo), and carry that folder and .whl/:
#   python benchmarks/external_sounds.py training data/mask_sounds
#   for f in data/mask_sounds/*/*.wav; do g=data/mask_carry/${f#data/mask_sounds/}; mkdir -p "$(dirname "$g")"
#     sox "$f" -c 1 -r 16000 "$g"; done
#   device run: carry ["data/mask_carry", ".whl"], command `OUT=$OUT bash benchmarks/gpu_mask_session.sh 560`
# (.whl/: see benchmarks/gpu_session.sh). A dry run of its steps on the CPU, here:
#   DEVICE=cpu WORKERS=1 TRAIN_ARGS="--examples-per-epoch 4 --batch-size 2 --val-examples 2" OUT=/tmp/o \
#     bash benchmarks/gpu_mask_session.sh 240
#
# What it trains (choices from the CPU runs, not measured on a GPU: README "Sound classes",
# benchmarks/results/specmask_classes/): the shipped mask model's decoder (--init) taught the sound classes
# (speech, instrument, synth; `specmask enhance --keep CLASS`) with voice and babble interferers beside the
# stationary noises, its backbone fine-tuned too (FINETUNE=1; the shipped default's is already fine-tuned, so
# 0 stops with a message), batches of 32 from WORKERS processes making mixtures, epochs of 4,096 mixtures,
# planned by `--minutes` to fit the lease. On the 2-core CPU
# those runs saw ~12,000 mixtures in 30-40 minutes: told the class, +1.6..+3.0 dB in non-stationary noise on synth
# sources, nothing on speech. Writes into $OUT: best.{safetensors,json} (the best epoch by validation SI-SDR
# improvement), train.log and meta.tar (config.json, plan.json, log.csv, machine.txt). Then, here: the benchmark
# (`python benchmarks/specmask_quality.py --model shipped=specmask/pretrained/default --model gpu=DIR/best`).
set -u
OUT=${OUT:?set OUT to the folder for the results}
BUDGET=${1:-560}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
SOUNDS=${SOUNDS:-data/mask_carry}
WORKERS=${WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
FINETUNE=${FINETUNE:-1}
TRAIN_ARGS=${TRAIN_ARGS:-}
[ "$FINETUNE" = 1 ] && TRAIN_ARGS="--finetune-backbone $TRAIN_ARGS"
START=$(date +%s)
source "$(dirname "$0")/gpu_common.sh"
for class in speech instrument; do
  ls "$SOUNDS/$class"/*.wav >/dev/null 2>&1 || { echo "error: no $SOUNDS/$class/*.wav: make and carry them (see the top of $0)"; exit 2; }
done
gpu_prepare

LEFT=$(( BUDGET - $(elapsed) - 20 ))          # 20 s to copy the results out
MINUTES=$($PY -c "print(round(max(0.5, ($LEFT - 60) / 60), 2))")   # 60 s: start, sources, validation mixtures
echo "== specmask train for $MINUTES minutes (t=$(elapsed) s, hard stop in $LEFT s)" | tee $OUT/train.log
rm -rf /tmp/mask_gpu
timeout -k 5 $LEFT $PY -m specmask train --out /tmp/mask_gpu --device $DEVICE --quiet \
  --backbone specmask/pretrained/default --init specmask/pretrained/default \
  --wav-dir speech=$SOUNDS/speech --wav-dir instrument=$SOUNDS/instrument \
  --interferers white pink brown hum voice babble --mask-max 2 --lr 3e-4 \
  --minutes $MINUTES --epochs 1000 --examples-per-epoch 4096 --batch-size 32 --val-examples 64 \
  --num-workers $WORKERS $TRAIN_ARGS 2>&1 | tee -a $OUT/train.log
echo "== done training (t=$(elapsed) s)" | tee -a $OUT/train.log

for f in best.safetensors best.json; do
  [ -f /tmp/mask_gpu/$f ] && cp /tmp/mask_gpu/$f $OUT/
done
cp /tmp/mask_gpu/{config.json,plan.json,log.csv} /tmp/gpu_meta/ 2>/dev/null
tar -C /tmp -cf $OUT/meta.tar gpu_meta
ls -la $OUT
