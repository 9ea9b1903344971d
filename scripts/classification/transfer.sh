#!/usr/bin/env bash
# Strategy 3: adapt a pretrained Timer-XL (OpenLTM's released checkpoint, or one from pretrain.sh)
# to classification, fine-tuning everything with a 10x smaller rate on the pretrained layers.
#   PRETRAIN_MODEL_PATH=checkpoints/timer_xl/checkpoint.pth bash scripts/classification/transfer.sh
# Sizes (layers, widths, heads, token length) are read off the checkpoint.
source "$(dirname "$0")/common.sh"
MODEL_ID=${MODEL_ID:-transfer}
PRETRAIN_MODEL_PATH=${PRETRAIN_MODEL_PATH:-$(ls -d "$CHECKPOINTS"/pretrain_pretrain_*/checkpoint.pth 2>/dev/null | head -n 1)}
if [ -z "$PRETRAIN_MODEL_PATH" ]; then
  echo "error: set PRETRAIN_MODEL_PATH, or run scripts/classification/pretrain.sh first" >&2
  exit 2
fi
# shellcheck disable=SC2046
$PYTHON run.py --task_name classification --is_training 1 --model timer_xl_classifier $(data_args) \
  --adaptation --pretrain_model_path "$PRETRAIN_MODEL_PATH" --finetune "${FINETUNE:-full}" --backbone_lr_scale 0.1 \
  --train_epochs "$EPOCHS" --patience "$PATIENCE" --cosine --warmup_epochs 1 --learning_rate 1e-4 \
  --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
