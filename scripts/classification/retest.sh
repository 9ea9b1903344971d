#!/usr/bin/env bash
# Re-test the best checkpoint of a trained run, without retraining and without retyping its
# settings: they are read from the run folder's config.json.
#   bash scripts/classification/retest.sh [MODEL_ID] [extra flags, e.g. --run_dir checkpoints/<setting>]
source "$(dirname "$0")/common.sh"
MODEL_ID=${1:-small_scratch}
shift $(( $# > 0 ? 1 : 0 ))
$PYTHON run.py --task_name classification --is_training 0 --checkpoints "$CHECKPOINTS" --model_id "$MODEL_ID" "$@"
