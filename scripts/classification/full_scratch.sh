#!/usr/bin/env bash
# Strategy 2: scripts/recipes/full_scratch.yaml (the full preset from scratch; meant for a GPU).
source "$(dirname "$0")/common.sh"
# shellcheck disable=SC2046
$PYTHON run.py --config scripts/recipes/full_scratch.yaml $(data_args) $(run_args) "$@"
