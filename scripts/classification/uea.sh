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
# The recipe, the same for every dataset: a 2-layer Timer-XL (d_model 128, dropout 0.2, weight
# decay 0.05), about 24 tokens per series (automatic token length), every variable's last token
# pooled; a fixed budget of about 600 optimiser steps with a cosine schedule (one warmup epoch) on
# all of TRAIN, the last epoch's weights tested: a 20% validation split of a 40-series TRAIN file
# is too small to pick an epoch, and the series it would hold back are worth more as training
# data (EXTRA="--val_ratio 0.2" keeps one, logged only); three seeds, reported as mean +- std and
# as the ensemble of their mean probabilities.
RECIPE=(--e_layers 2 --d_model 128 --d_ff 256 --n_heads 8 --dropout 0.2 --weight_decay 0.05 --pooling last
        --batch_size 16 --learning_rate 1e-3 --cosine --warmup_epochs 1 --train_steps 600 --select_epoch last
        --val_ratio 0 --seed 2021 --itr ${ITR:-3})
for NAME in "$@"; do
  # shellcheck disable=SC2086
  $PYTHON run.py --task_name classification --is_training 1 --model timer_xl_classifier --data UEA \
    --root_path "$DATA_ROOT" --model_id "$NAME" --des uea --checkpoints "$CHECKPOINTS" "${RECIPE[@]}" ${EXTRA:-}
done
$PYTHON scripts/uea_table.py "$CHECKPOINTS" "$@" | tee "$CHECKPOINTS/uea_results.md"
