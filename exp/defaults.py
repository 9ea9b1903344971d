"""Defaults the data decides, each returned as a new Config with the reason to print.

- ``--preset auto``: the model size follows the number of training windows, so a year of
  station data does not get 4 layers of width 512 to memorise (docs/results.md has the
  validation evidence for the cut).
- ``--class_weights auto`` and ``--threshold_tuning auto``: a binary task whose positive share in
  the train windows is below 35% (or above 65%) gets balanced class weights and, where there is a
  validation split, a decision threshold tuned on it; a balanced or multi-class task gets neither.

- ``--highway auto``: on for a station or region table with a validation split, trained from
  scratch: the highway starts as a logistic regression on the train windows, validation scores
  that start as epoch 0, and training is kept only where it beats it (docs/results.md has the
  validation evidence). Off for archive sets and adaptation from a checkpoint (not measured
  there), and without a validation split or with ``--select_epoch last`` (the start could not be
  checked).

A value the user gave (a flag or a recipe key) is never changed: ``--class_weights none`` and
``--threshold_tuning off`` say no, ``--preset small`` forces a size.
"""
from __future__ import annotations

import numpy as np

from models.timer_xl_classifier import PRESETS
from utils.config import Config

SIZES = ("e_layers", "d_model", "d_ff", "n_heads")
# below this many training windows --preset auto picks tiny, else small
TINY_BELOW_WINDOWS = 20_000
IMBALANCE_SHARE = 0.35


def right_size(cfg: Config, n_train_windows: int) -> tuple[Config, str | None]:
    """--preset auto -> a named preset for this many train windows (sizes the user typed stay)."""
    if cfg.preset != "auto" or cfg.adaptation:   # adaptation: the checkpoint's sizes
        return cfg, None
    name = "tiny" if n_train_windows < TINY_BELOW_WINDOWS else "small"
    sizes = {k: v for k, v in PRESETS[name].items() if k not in cfg.explicit}
    cfg = cfg.derive(preset=name, **sizes)
    return cfg, (f"model size: preset {name} ({cfg.e_layers} layers, d_model {cfg.d_model}, d_ff {cfg.d_ff}, "
                 f"{cfg.n_heads} heads) for {n_train_windows:,} train windows (--preset auto: tiny below "
                 f"{TINY_BELOW_WINDOWS:,}; --preset small|full forces a size)")


def imbalance_defaults(cfg: Config, train_labels: np.ndarray, n_classes: int,
                       has_validation: bool) -> tuple[Config, str | None]:
    """--class_weights auto / --threshold_tuning auto -> concrete values, and why."""
    if cfg.class_weights != "auto" and cfg.threshold_tuning != "auto":
        return cfg, None
    share = float(np.mean(train_labels == cfg.pos_label)) if len(train_labels) else 0.0
    imbalanced = n_classes == 2 and not IMBALANCE_SHARE <= share <= 1 - IMBALANCE_SHARE
    chosen = {}
    if cfg.class_weights == "auto":
        chosen["class_weights"] = "balanced" if imbalanced else "none"
    if cfg.threshold_tuning == "auto":
        chosen["threshold_tuning"] = "on" if imbalanced and has_validation else "off"
    cfg = cfg.derive(**chosen)
    if n_classes != 2:
        why = f"{n_classes} classes"
    else:
        why = (f"class {cfg.pos_label} in {share:.0%} of train windows "
               f"({'outside' if imbalanced else 'within'} {IMBALANCE_SHARE:.0%}-{1 - IMBALANCE_SHARE:.0%})")
        if imbalanced and not has_validation and "threshold_tuning" in chosen:
            why += "; no validation split to tune a threshold on"
    said = ", ".join(f"--{k} {v}" for k, v in chosen.items())
    return cfg, f"class imbalance: {why}: {said} (give --class_weights / --threshold_tuning to choose)"


def highway_default(cfg: Config, station_table: bool, has_validation: bool) -> tuple[Config, str | None]:
    """--highway auto -> on or off, and why."""
    if cfg.highway != "auto":
        return cfg, None
    if not station_table:
        why = "an archive set, where it was not measured"
    elif cfg.adaptation:
        why = "adaptation from a checkpoint, where it was not measured"
    elif not has_validation:
        why = "no validation split to check its start on"
    elif cfg.select_epoch == "last":
        why = "--select_epoch last tests the last epoch, so its start would not be checked"
    else:
        return cfg.derive(highway="on"), ("highway: on (--highway auto: a station table trained from scratch; its "
                                          "starting regression is scored on validation as epoch 0; --highway off "
                                          "says no)")
    return cfg.derive(highway="off"), f"highway: off (--highway auto: {why})"
