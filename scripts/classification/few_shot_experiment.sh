#!/usr/bin/env bash
# Does pretraining transfer? Pretrain on the unlabeled train period of a series, then fine-tune
# on a random 10% of its labelled train windows, against the same model from scratch on the same
# 10% (same seeds, same subsets, same schedule: only the initialisation differs).
# Prints mean ± std over 3 seeds. Defaults: the shipped sample, small preset, CPU.
source "$(dirname "$0")/common.sh"
RATIO=${RATIO:-0.1}
SEEDS=${SEEDS:-3}
COMMON=(--train_epochs 20 --patience 5 --cosine --learning_rate 1e-4 --subset_rand_ratio "$RATIO" --itr "$SEEDS"
        --checkpoints "$CHECKPOINTS")
MODEL_ID=fewshot_pretrain EPOCHS=20 PATIENCE=3 bash "$(dirname "$0")/pretrain.sh"
# shellcheck disable=SC2046
PRETRAINED=$($PYTHON scripts/pick_pretrained.py "$CHECKPOINTS" fewshot_pretrain $(data_args)) || exit 2
# shellcheck disable=SC2046
$PYTHON run.py $(data_args) --preset small --pretrain_stage off --model_id fewshot_scratch "${COMMON[@]}"
# shellcheck disable=SC2046
$PYTHON run.py $(data_args) --adaptation --pretrain_model_path "$PRETRAINED" --model_id fewshot_transfer "${COMMON[@]}"
$PYTHON scripts/summarize_runs.py "$CHECKPOINTS" 'classification_fewshot_scratch_*' 'classification_fewshot_transfer_*'
