#!/usr/bin/env bash
# Strategy 1: the small preset (4 layers, d_model 512, d_ff 1024, 8 heads) trained from scratch.
# Extra flags are passed through, e.g. `bash scripts/classification/small_scratch.sh --learning_rate 3e-4`.
source "$(dirname "$0")/common.sh"
MODEL_ID=${MODEL_ID:-small_scratch}
# shellcheck disable=SC2046
$PYTHON run.py --task_name classification --is_training 1 --model timer_xl_classifier $(data_args) \
  --preset small --train_epochs "$EPOCHS" --patience "$PATIENCE" --cosine --learning_rate 1e-4 \
  --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
