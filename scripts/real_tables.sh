#!/usr/bin/env bash
# The real weather tables of docs/results.md, each run with the flags a user would type and the
# Quickstart's recipe, 3 seeds, then one table beside every baseline.
#   bash scripts/real_tables.sh [CHECKPOINTS] [EXTRA_DIR]
# EXTRA_DIR may hold the larger tables named in docs/results.md (not shipped); missing ones are skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python}
CK=${1:-checkpoints/real_tables/}
EXTRA=${2:-}
RECIPE="--task_name classification --is_training 1 --model timer_xl_classifier --data PeruRainfall --preset small
  --train_epochs 10 --patience 3 --cosine --itr ${ITR:-3} --checkpoints $CK ${EXTRA_FLAGS:-}"
DAILY="--target_from precipitation --rain_threshold 0 --horizon 1 --seq_len 28 --input_token_len 7"
HOURLY="--target_from precip --rain_threshold 0 --horizon 24 --seq_len 96 --input_token_len 24"

run() {  # model_id root data_path flags...
  local id=$1 root=$2 file=$3; shift 3
  if [ ! -f "$root/$file" ]; then echo "skipped $id: no $root/$file"; return; fi
  # shellcheck disable=SC2086
  $PYTHON run.py $RECIPE --model_id "$id" --root_path "$root" --data_path "$file" "$@" --resume
}

run seattle_daily datasets/sample seattle_weather.csv $DAILY
run two_stations_daily datasets/sample weather_2stations_daily.csv $DAILY --group_col location
run nyc_airports_3months datasets/sample nyc_airports_weather_hourly.csv $HOURLY --group_col origin
if [ -n "$EXTRA" ]; then
  run five_cities_daily "$EXTRA" mosaicdata_weather_daily_5cities.csv --target_from precip --replace T=0.001 \
    --rain_threshold 0 --horizon 1 --seq_len 28 --input_token_len 7 --group_col city
  run nyc_airports_2013 "$EXTRA" nycflights13_weather_hourly_3stations.csv $HOURLY --group_col origin
  run jfk_2013 "$EXTRA" nycflights13_weather_hourly_JFK.csv $HOURLY
fi
$PYTHON scripts/results_table.py "$CK"
