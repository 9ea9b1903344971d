#!/usr/bin/env bash
# One Timer-XL recipe over UEA/UCR archive datasets found as DATA_ROOT/NAME/NAME_TRAIN.ts (and
# _TEST.ts), then a results table: test accuracy, macro-F1 and time per dataset.
#   bash scripts/classification/uea.sh DATA_ROOT JapaneseVowels BasicMotions GunPoint
# Run folders go under $CHECKPOINTS (default checkpoints/); the table is printed and written to
# $CHECKPOINTS/uea_results.md. Extra recipe flags can be given in $EXTRA (they come last, so they
# override the recipe's), the number of seeds in $ITR (default 3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/classification/uea.sh DATA_ROOT NAME [NAME ...]" >&2
  exit 2
fi
PYTHON=${PYTHON:-python}
CHECKPOINTS=${CHECKPOINTS:-checkpoints/}
DATA_ROOT=$1
shift
# The recipe, the same for every dataset. First, Timer-XL's own way: next-token pretraining on every
# archive TRAIN file under DATA_ROOT (TEST files are never read; labels are ignored), with the token
# length and window of NAME's classifier, about 1500 steps of 32. Then the classifier adapted from
# it: a 2-layer Timer-XL (d_model 128, dropout 0.2, weight decay 0.05), about 24 tokens per series,
# every variable's last token pooled; a fixed budget of about 600 optimiser steps with a cosine
# schedule (one warmup epoch) on all of TRAIN, the last epoch's weights tested: a 20% validation
# split of a 40-series TRAIN file is too small to pick an epoch, and the series it would hold back
# are worth more as training data (EXTRA="--val_ratio 0.2" keeps one, logged only); three seeds,
# reported as mean +- std and as the ensemble of their mean probabilities. PRETRAIN=0 skips the
# pretraining (the classifier then starts from random weights), as does a set whose series are too
# short for one pretraining window (run.py exits 4 and says why; that set trains from scratch).
SIZES=(--e_layers 2 --d_model 128 --d_ff 256 --n_heads 8 --weight_decay 0.05 --learning_rate 1e-3 --cosine
       --seed 2021 --des uea)
PRETRAIN_RECIPE=(--dropout 0.1 --batch_size 32 --train_steps 1500)
RECIPE=(--dropout 0.2 --pooling last --batch_size 16 --warmup_epochs 1 --train_steps 600 --select_epoch last
        --val_ratio 0 --itr ${ITR:-3})
for NAME in "$@"; do
  ADAPT=()
  if [ "${PRETRAIN:-1}" != 0 ]; then
    STATUS=0
    $PYTHON run.py --task_name pretrain --is_training 1 --data UEA --root_path "$DATA_ROOT" --model_id "$NAME" \
      --checkpoints "$CHECKPOINTS" "${SIZES[@]}" "${PRETRAIN_RECIPE[@]}" --resume || STATUS=$?
    if [ "$STATUS" = 4 ]; then
      echo "uea.sh: no pretraining for $NAME (see above); its classifier trains from scratch" >&2
    elif [ "$STATUS" != 0 ]; then
      exit "$STATUS"
    else
      PRETRAINED=$(ls -td "$CHECKPOINTS"/pretrain_"$NAME"_timer_xl_UEA_*_uea_0 | head -1)/checkpoint.pth
      ADAPT=(--adaptation --pretrain_model_path "$PRETRAINED")
    fi
  fi
  # shellcheck disable=SC2086
  $PYTHON run.py --task_name classification --is_training 1 --model timer_xl_classifier --data UEA \
    --root_path "$DATA_ROOT" --model_id "$NAME" --checkpoints "$CHECKPOINTS" "${SIZES[@]}" "${RECIPE[@]}" \
    "${ADAPT[@]}" ${EXTRA:-}
done
$PYTHON scripts/uea_table.py "$CHECKPOINTS" "$@" | tee "$CHECKPOINTS/uea_results.md"
