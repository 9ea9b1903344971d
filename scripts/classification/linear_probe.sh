#!/usr/bin/env bash
# Linear probe: the pretrained backbone frozen, only the classification head trained.
# A quick check of how much the pretrained representation already separates the classes.
FINETUNE=linear_probe MODEL_ID=${MODEL_ID:-linear_probe} exec bash "$(dirname "$0")/transfer.sh" --learning_rate 1e-3 "$@"
