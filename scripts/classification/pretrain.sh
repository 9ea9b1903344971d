#!/usr/bin/env bash
# scripts/recipes/pretrain.yaml: Timer-XL's next-token forecasting objective on the unlabeled
# series of $DATA_PATH, training period only (--skip_test: the test period a classification run
# on this table will score is not scored here). Writes $CHECKPOINTS/pretrain_<MODEL_ID>_.../checkpoint.pth
# in OpenLTM's layout, with config.json beside it. Labels are not read, but DATA_FLAGS are passed as
# for classification: they decide the groups and which columns are features, and transfer.sh starts
# only from a pretraining run with the same data file and features.
source "$(dirname "$0")/common.sh"
OUTPUT_TOKEN_LEN=${OUTPUT_TOKEN_LEN:-$TOKEN_LEN}
# shellcheck disable=SC2046
$PYTHON run.py --config scripts/recipes/pretrain.yaml $(data_args) $(run_args) --skip_test \
  --output_token_len "$OUTPUT_TOKEN_LEN" "$@"
