#!/usr/bin/env bash
# Pretrain Timer-XL with its generative objective (every token forecasts the next
# OUTPUT_TOKEN_LEN points) on the unlabeled series of a CSV. Writes
# $CHECKPOINTS/pretrain_<MODEL_ID>_.../checkpoint.pth in OpenLTM's layout, with config.json beside it.
# The defaults pretrain a small model on the shipped sample; labels are not read, but DATA_FLAGS
# are passed as for classification: they decide the groups and which columns are features, and
# transfer.sh starts only from a pretraining run with the same data file and features.
source "$(dirname "$0")/common.sh"
MODEL_ID=${MODEL_ID:-pretrain}
OUTPUT_TOKEN_LEN=${OUTPUT_TOKEN_LEN:-$TOKEN_LEN}
# shellcheck disable=SC2046
$PYTHON run.py --task_name pretrain --is_training 1 --model timer_xl $(data_args) \
  --output_token_len "$OUTPUT_TOKEN_LEN" \
  --preset small --train_epochs "$EPOCHS" --patience "$PATIENCE" --cosine --learning_rate 1e-4 \
  --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
