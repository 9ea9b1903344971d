#!/usr/bin/env bash
# scripts/recipes/linear_probe.yaml: the pretrained backbone frozen, only the classification head
# trained. A quick check of how much the pretrained representation already separates the classes.
RECIPE=linear_probe exec bash "$(dirname "$0")/transfer.sh" "$@"
