#!/usr/bin/env bash
# Pretrain Timer-XL with its generative objective (every token forecasts the next
# OUTPUT_TOKEN_LEN points) on the unlabeled series of a CSV. Writes
# $CHECKPOINTS/pretrain_<MODEL_ID>_.../checkpoint.pth in OpenLTM's layout, with config.json beside it.
# The defaults pretrain a small model on the shipped sample; labels are not read.
source "$(dirname "$0")/common.sh"
MODEL_ID=${MODEL_ID:-pretrain}
OUTPUT_TOKEN_LEN=${OUTPUT_TOKEN_LEN:-$TOKEN_LEN}
$PYTHON run.py --task_name pretrain --is_training 1 --model timer_xl \
  --data PeruRainfall --root_path "$ROOT_PATH" --data_path "$DATA_PATH" \
  --seq_len "$SEQ_LEN" --input_token_len "$TOKEN_LEN" --output_token_len "$OUTPUT_TOKEN_LEN" \
  --preset small --train_epochs "$EPOCHS" --patience "$PATIENCE" --cosine --learning_rate 1e-4 \
  --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
