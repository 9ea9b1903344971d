#!/usr/bin/env bash
# Strategy 1: scripts/recipes/small_scratch.yaml (the small preset from scratch) on $DATA_PATH.
# Extra flags are passed through, e.g. `bash scripts/classification/small_scratch.sh --learning_rate 3e-4`.
source "$(dirname "$0")/common.sh"
# shellcheck disable=SC2046
$PYTHON run.py --config scripts/recipes/small_scratch.yaml $(data_args) $(run_args) "$@"
