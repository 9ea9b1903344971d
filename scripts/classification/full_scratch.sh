#!/usr/bin/env bash
# Strategy 2: the full preset (8 layers, d_model 1024, d_ff 2048, 8 heads; the published Timer-XL
# size) trained from scratch. About 6x the small preset's parameters: meant for a GPU.
source "$(dirname "$0")/common.sh"
MODEL_ID=${MODEL_ID:-full_scratch}
# shellcheck disable=SC2046
$PYTHON run.py --task_name classification --is_training 1 --model timer_xl_classifier $(data_args) \
  --preset full --train_epochs "$EPOCHS" --patience "$PATIENCE" --cosine --warmup_epochs 1 --learning_rate 5e-5 \
  --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
