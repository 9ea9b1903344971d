#!/usr/bin/env bash
# Strategy 3: scripts/recipes/transfer.yaml: adapt a pretrained Timer-XL (OpenLTM's released
# checkpoint, or one from pretrain.sh) to classification.
#   PRETRAIN_MODEL_PATH=checkpoints/timer_xl/checkpoint.pth bash scripts/classification/transfer.sh
# Without PRETRAIN_MODEL_PATH: the finished pretrain.sh run (MODEL_ID $PRETRAIN_ID) under $CHECKPOINTS
# made on the same data file, split and feature list as this run; none or several is an error naming them.
# RECIPE=linear_probe (linear_probe.sh) freezes the backbone instead.
source "$(dirname "$0")/common.sh"
PRETRAIN_ID=${PRETRAIN_ID:-pretrain}
if [ -z "${PRETRAIN_MODEL_PATH:-}" ]; then
  # shellcheck disable=SC2046
  PRETRAIN_MODEL_PATH=$($PYTHON scripts/pick_pretrained.py "$CHECKPOINTS" "$PRETRAIN_ID" $(data_args) "$@") || exit 2
fi
# shellcheck disable=SC2046
$PYTHON run.py --config "scripts/recipes/${RECIPE:-transfer}.yaml" $(data_args) $(run_args) \
  --pretrain_model_path "$PRETRAIN_MODEL_PATH" "$@"
