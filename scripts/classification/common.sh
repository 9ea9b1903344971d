# Shared settings for the strategy scripts; each can be overridden from the environment.
# Defaults run on the sample shipped in the repo (daily Seattle weather, rain tomorrow yes/no).
# For the Peru ERA5 CSV, for example:
#   ROOT_PATH=datasets/processed/ DATA_PATH=peru_rainfall.csv SEQ_LEN=720 TOKEN_LEN=96 \
#   DATA_FLAGS="--group_col region --target_from tp_mm --rain_threshold 1 --horizon 2" \
#   bash scripts/classification/small_scratch.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON=${PYTHON:-python}
ROOT_PATH=${ROOT_PATH:-datasets/sample/}
DATA_PATH=${DATA_PATH:-seattle_weather.csv}
DATA_FLAGS=${DATA_FLAGS:---target_from precipitation --rain_threshold 0 --horizon 1}
SEQ_LEN=${SEQ_LEN:-28}
TOKEN_LEN=${TOKEN_LEN:-7}
CHECKPOINTS=${CHECKPOINTS:-checkpoints/}
# EPOCHS, PATIENCE and MODEL_ID override the recipe's values when set


# shellcheck disable=SC2086  # DATA_FLAGS is a list of flags on purpose
data_args() {
  echo --data PeruRainfall --root_path "$ROOT_PATH" --data_path "$DATA_PATH" $DATA_FLAGS \
       --seq_len "$SEQ_LEN" --input_token_len "$TOKEN_LEN"
}

run_args() {
  echo --checkpoints "$CHECKPOINTS" ${EPOCHS:+--train_epochs "$EPOCHS"} ${PATIENCE:+--patience "$PATIENCE"} \
       ${MODEL_ID:+--model_id "$MODEL_ID"}
}
