#!/usr/bin/env bash
# Strategy 3: adapt a pretrained Timer-XL (OpenLTM's released checkpoint, or one from pretrain.sh)
# to classification, fine-tuning everything with a 10x smaller rate on the pretrained layers.
#   PRETRAIN_MODEL_PATH=checkpoints/timer_xl/checkpoint.pth bash scripts/classification/transfer.sh
# Sizes (layers, widths, heads, token length) are read off the checkpoint. Without
# PRETRAIN_MODEL_PATH: the finished pretrain.sh run (MODEL_ID $PRETRAIN_ID) under $CHECKPOINTS made
# on the same data file, split and feature list as this run; none or several is an error naming them.
source "$(dirname "$0")/common.sh"
MODEL_ID=${MODEL_ID:-transfer}
PRETRAIN_ID=${PRETRAIN_ID:-pretrain}
if [ -z "${PRETRAIN_MODEL_PATH:-}" ]; then
  # shellcheck disable=SC2046
  PRETRAIN_MODEL_PATH=$($PYTHON scripts/pick_pretrained.py "$CHECKPOINTS" "$PRETRAIN_ID" $(data_args) "$@") || exit 2
fi
# shellcheck disable=SC2046
$PYTHON run.py --task_name classification --is_training 1 --model timer_xl_classifier $(data_args) \
  --adaptation --pretrain_model_path "$PRETRAIN_MODEL_PATH" --finetune "${FINETUNE:-full}" --backbone_lr_scale 0.1 \
  --train_epochs "$EPOCHS" --patience "$PATIENCE" --cosine --warmup_epochs 1 --learning_rate 1e-4 \
  --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
