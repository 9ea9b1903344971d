"""Command line: thuml's OpenLTM / Time-Series-Library flag names, plus what classification needs.

``parse(argv)`` returns one frozen Config (utils/config.py): the resolved options and the set of
flags the user gave, which re-testing uses to tell a deliberate contradiction of the saved run
from a default. The parser is the one place defaults are written; ``--help`` shows them.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from data_provider.calendar import FREQS
from data_provider.data_factory import DATA_LOADERS
from exp.tasks import TASKS
from models import CLASSIFIERS, FORECASTERS
from models.timer_xl_classifier import POOLINGS, PRESETS
from utils.early_stopping import MONITORS
from utils.config import Config
from utils.errors import UserError
from utils.lr_schedule import SCHEDULES
from utils.precision import AMP_CHOICES
from utils.tracker import TRACKERS

# Flags that may differ between training and a re-test without changing what is tested.
RUNTIME_FLAGS = {"is_training", "batch_size", "gpu", "use_gpu", "num_workers", "checkpoints", "run_dir", "debug",
                 "resume", "ddp", "amp", "compile", "config", "keep_last", "tracker",
                 "skip_test"}


def str2bool(text: str) -> bool:
    lowered = str(text).lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise UserError(f"{message} (see python run.py --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(description="Timer-XL time-series classification runner", allow_abbrev=False,
                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", default=None, metavar="FILE",
                   help="a YAML recipe of flag values (names as on the command line, without the dashes); "
                        "flags given on the command line override it")

    g = p.add_argument_group("basic config")
    g.add_argument("--task_name", default="classification", choices=list(TASKS),
                   help="; ".join(f"{name}: {task.summary}" for name, task in TASKS.items()))
    g.add_argument("--output", default=None,
                   help="with --task_name predict: the CSV to write (one row per window)")
    g.add_argument("--sort_by", default=None,
                   help="with --task_name compare: the summary column to sort by (default: each run's validation "
                        "--monitor value at its best epoch)")
    g.add_argument("--n_trials", type=int, default=20,
                   help="with --task_name tune: trials to run (a resumed search counts the finished ones)")
    g.add_argument("--is_training", type=int, default=1, choices=[0, 1], help="1: train then test; 0: re-test a trained run")
    g.add_argument("--model_id", default="test", help="a name for this experiment; part of the run folder name")
    g.add_argument("--model", default="timer_xl_classifier", choices=sorted(CLASSIFIERS) + sorted(FORECASTERS),
                   help=f"classification: {', '.join(sorted(CLASSIFIERS))}; pretraining: {', '.join(sorted(FORECASTERS))}")
    g.add_argument("--des", default="exp", help="free-text description; part of the run folder name")
    g.add_argument("--itr", type=int, default=1, help="number of repeats; repeat i uses seed + i")
    g.add_argument("--seed", type=int, default=2021, help="random seed; a CPU run with the same seed repeats exactly")
    g.add_argument("--debug", action="store_true", help="show Python tracebacks for errors")

    g = p.add_argument_group("data")
    g.add_argument("--data", default="PeruRainfall", choices=sorted(DATA_LOADERS),
                   help="PeruRainfall: the generic rainfall CSV loader (any station/region CSV); "
                        "UEA: ROOT/NAME_TRAIN.ts and ROOT/NAME_TEST.ts with --root_path ROOT --model_id NAME")
    g.add_argument("--val_ratio", type=float, default=0.2,
                   help="UEA: stratified share of TRAIN held out for validation (the test set is never used); 0 "
                        "trains on all of TRAIN with no validation, which needs --select_epoch last")
    g.add_argument("--tokens_per_series", type=int, default=24,
                   help="UEA without --input_token_len: the token length is the longest series / this, rounded up "
                        "(so one recipe gives a length-24 and a length-1500 data set about the same number of tokens)")
    g.add_argument("--root_path", default="./datasets/processed/", help="folder of the data file")
    g.add_argument("--data_path", default="peru_rainfall.csv", help="CSV file name inside --root_path")
    g.add_argument("--date_col", default=None,
                   help="timestamp column (default: found by parsing the values, whatever the column is called)")
    g.add_argument("--group_col", default=None, help="region or station column; windows never cross groups")
    g.add_argument("--target", default=None, help="label column holding integer classes 0..n_classes-1")
    g.add_argument("--target_from", default=None, help="precipitation column to derive rain/no-rain labels from")
    g.add_argument("--rain_threshold", type=float, default=None,
                   help="with --target_from: label 1 when the total over the next --horizon steps is > this, in the column's units")
    g.add_argument("--horizon", type=int, default=1,
                   help="steps after the window that the label looks at; also the gap kept before each split boundary")
    g.add_argument("--features", default=None, help="comma-separated feature columns (default: every numeric column)")
    g.add_argument("--exclude", default=None, help="comma-separated columns to leave out")
    g.add_argument("--split", default="0.7,0.15,0.15",
                   help="train,val,test fractions of the timeline: two cutoff times shared by every group")
    g.add_argument("--na_values", default=None,
                   help="comma-separated values meaning missing: numbers (-9900) or text tokens (M, ---)")
    g.add_argument("--replace", action="append", default=None, metavar="TOKEN=NUMBER",
                   help="read a text token as a number, e.g. --replace T=0.001 for trace rain (repeatable)")
    g.add_argument("--duplicates", default="error", choices=["error", "first", "last", "mean"],
                   help="rows with the same group and time but different values: refuse (default), or keep the "
                        "first, the last or their mean (exact duplicate rows are always dropped and counted)")
    g.add_argument("--max_gap", type=int, default=2,
                   help="carry the last observed value forward over at most this many missing steps (never "
                        "backward); windows that still hold a missing step are dropped and counted")
    g.add_argument("--max_missing_share", type=float, default=0.5,
                   help="drop (for all groups) an automatically chosen feature missing in more than this share of "
                        "any group's train rows; --features keeps what it names")
    g.add_argument("--max_window_loss", type=float, default=0.25,
                   help="drop (for all groups) an automatically chosen feature whose missing steps alone would remove "
                        "more than this share of the train windows (1: never); --features keeps what it names")
    g.add_argument("--derived_columns", default="drop", choices=["drop", "keep"],
                   help="drop: an automatically chosen column that only counts the rows or repeats a part of the date "
                        "(year, month, day, hour, day of year) is dropped with a warning; keep: it is an input")
    g.add_argument("--embed", default="timeF", choices=["timeF", "none"],
                   help="timeF: add each row's hour of day and day of year (sin/cos, from its own timestamp) as "
                        "input variables, for tables with a date column; none: only the file's columns")
    g.add_argument("--freq", default=None, choices=sorted(FREQS),
                   help="Time-Series-Library's grid letter for --embed timeF (h, d, m, ...); default: inferred from "
                        "the time column (sub-daily: hour + day of year; daily: day of year; monthly: month)")
    g.add_argument("--persistence_input", default="auto", choices=["auto", "on", "off"],
                   help="on: with --target_from, add the persistence forecast as an input variable: on every step, 1 "
                        "where the label's rule already holds over the --horizon steps ending there (the rain column "
                        "must be an input); off: only the file's columns and the calendar; auto (default): on for "
                        "grids of a day or longer, off on sub-daily grids (chosen on validation)")
    g.add_argument("--checkpoints", default="./checkpoints/", help="folder that holds one sub-folder per run")
    g.add_argument("--run_dir", default=None, help="with --is_training 0: the run folder to re-test (default: found by --model_id)")

    g = p.add_argument_group("windows and tokens")
    g.add_argument("--seq_len", type=int, default=720, help="input window length in time steps")
    g.add_argument("--input_token_len", type=int, default=96, help="time steps per token (Timer-XL's patch length)")
    g.add_argument("--output_token_len", type=int, default=96, help="Timer-XL forecast length per token (kept for checkpoint compatibility)")

    g = p.add_argument_group("model")
    g.add_argument("--preset", default="auto", choices=["auto", *PRESETS, "none"],
                   help="auto: tiny below 20,000 train windows, else small; tiny: 2 layers, d_model 64, d_ff 128, "
                        "4 heads; small: 4, 512, 1024, 8; full: 8, 1024, 2048, 8 (the published size)")
    g.add_argument("--e_layers", type=int, default=None, help="transformer layers (overrides the preset)")
    g.add_argument("--d_model", type=int, default=None, help="model width (overrides the preset)")
    g.add_argument("--d_ff", type=int, default=None, help="feed-forward width (overrides the preset)")
    g.add_argument("--n_heads", type=int, default=None, help="attention heads (overrides the preset)")
    g.add_argument("--dropout", type=float, default=0.1, help="dropout")
    g.add_argument("--activation", default="relu", choices=["relu", "gelu"], help="feed-forward activation")
    g.add_argument("--use_norm", action="store_true", help="standardise each window per variable (OpenLTM's use_norm)")
    g.add_argument("--covariate", action="store_true", help="OpenLTM's covariate attention mask (last variable is the target)")
    g.add_argument("--pooling", default="last", choices=list(POOLINGS),
                   help="last: every variable's last token, concatenated; mean: average of all tokens")
    g.add_argument("--highway", default="auto", choices=["auto", "on", "off"],
                   help="on: add a linear map of each variable's last step, last-token mean and window mean to the "
                        "logits, started from a logistic regression on the train windows (LSTNet's highway), whose "
                        "start validation scores as epoch 0; auto (default): on for station/region tables with a "
                        "validation split trained from scratch, off for archive sets and adaptation")
    g.add_argument("--n_classes", type=int, default=None, help="number of classes (default: from the labels)")
    g.add_argument("--pos_label", type=int, default=1, help="positive class for precision/recall/F1 in binary tasks")

    g = p.add_argument_group("adaptation from a pretrained Timer-XL")
    g.add_argument("--adaptation", action="store_true", help="start the backbone from --pretrain_model_path")
    g.add_argument("--pretrain_model_path", default=None,
                   help="OpenLTM timer_xl checkpoint (.pth/.ckpt/.safetensors) or one written by --task_name pretrain")
    g.add_argument("--pretrain_stage", default="auto", choices=["auto", "on", "off"],
                   help="on: before the classifier, pretrain Timer-XL on the table's train-period series (next-token "
                        "forecasting, stopped on the validation period, test period unread) and adapt from it, in "
                        "one command; auto (default): on for hourly or finer station tables trained from scratch "
                        "with fewer than 20,000 train windows (chosen on validation; docs/transfer.md); off: never")
    g.add_argument("--allow_partial_load", action="store_true",
                   help="let missing, unexpected or shape-mismatched backbone tensors start fresh instead of stopping")
    g.add_argument("--finetune", default="full",
                   help="full (default), linear_probe (backbone frozen), or partial:K (last K layers trainable)")
    g.add_argument("--backbone_lr_scale", type=float, default=1.0,
                   help="learning-rate factor for the pretrained backbone (e.g. 0.1); the new head uses the full rate")
    g.add_argument("--skip_test", action="store_true",
                   help="--task_name pretrain: do not score the test period (pretraining on the table a classification "
                        "run will be tested on: its train period trains, its validation period stops early)")
    g.add_argument("--subset_rand_ratio", type=float, default=1.0,
                   help="few-shot: train on this random share of the train windows (val and test unchanged)")

    g = p.add_argument_group("optimisation")
    g.add_argument("--batch_size", type=int, default=32, help="windows per batch")
    g.add_argument("--learning_rate", type=float, default=1e-4, help="peak learning rate (AdamW)")
    g.add_argument("--weight_decay", type=float, default=0.0, help="AdamW weight decay")
    g.add_argument("--train_epochs", type=int, default=10, help="maximum epochs")
    g.add_argument("--train_steps", type=int, default=None,
                   help="instead of --train_epochs: about this many optimiser steps, as epochs = ceil(steps / steps "
                        "per epoch); one recipe then gives a 40-series and a 4000-series data set the same number of "
                        "updates")
    g.add_argument("--select_epoch", default="best", choices=["best", "last"],
                   help="which weights are tested: best = the epoch with the best --monitor (early stopping by "
                        "--patience); last = the final epoch's, a fixed budget with no early stopping, for validation "
                        "splits too small to pick an epoch (validation is still logged)")
    g.add_argument("--patience", type=int, default=3, help="epochs without improvement of --monitor before stopping")
    g.add_argument("--min_delta", type=float, default=1e-4,
                   help="early stopping counts an epoch as an improvement of --monitor only when it beats the best so "
                        "far by more than min_delta x |best| (a fraction of the best, in its direction; 0: any gain)")
    g.add_argument("--monitor", default="val_macro_f1", choices=sorted(MONITORS),
                   help="validation metric for early stopping and the best checkpoint (val_macro_f1: chosen on "
                        "validation across the real tasks of docs/results.md; val_loss is OpenLTM's)")
    g.add_argument("--cosine", action="store_true", help="cosine learning-rate schedule (same as --lradj cosine)")
    g.add_argument("--tmax", type=int, default=None, help="epochs for the cosine to reach its minimum (default: --train_epochs)")
    g.add_argument("--lradj", default=None, choices=list(SCHEDULES),
                   help="schedule: cosine, constant (default), or OpenLTM's step decays type1 (x0.1/epoch), type2 (x0.5), type3 (x0.9)")
    g.add_argument("--warmup_epochs", type=int, default=0, help="linear warmup epochs before the schedule")
    g.add_argument("--clip_grad", type=float, default=1.0, help="clip the gradient norm to this (0: off)")
    g.add_argument("--accum_steps", type=int, default=1,
                   help="gradient accumulation: one optimizer step per this many batches of --batch_size")

    g = p.add_argument_group("class imbalance")
    g.add_argument("--loss", default="ce", choices=["ce", "focal"], help="cross-entropy or focal loss")
    g.add_argument("--class_weights", default="auto",
                   help="auto: balanced for a binary task whose positive share in train is below 35%% or above "
                        "65%%, else none; none; balanced (from the train windows); or one weight per class like 1,3 "
                        "(with --loss focal these are the per-class alphas)")
    g.add_argument("--focal_gamma", type=float, default=2.0, help="focal loss gamma")
    g.add_argument("--input_noise", type=float, default=0.0,
                   help="standard deviation of Gaussian noise added to the standardised inputs of training batches "
                        "(0: none); validation, test and prediction read the data as it is")
    g.add_argument("--mixup", type=float, default=0.0,
                   help="mixup's Beta parameter (e.g. 0.2): each training window blended with another of its batch, "
                        "and their losses by the same share; 0: off")
    g.add_argument("--threshold_tuning", nargs="?", const="on", default="auto", choices=["auto", "on", "off"],
                   help="binary tasks: decide at the threshold chosen on validation (on; the bare flag) or at 0.5 "
                        "(off); auto: on for an imbalanced task (as --class_weights auto) with a validation split")

    g = p.add_argument_group("reliability")
    g.add_argument("--resume", action="store_true",
                   help="continue the run in its folder from last.pth (same command otherwise); a finished run is "
                        "left as it is")
    g.add_argument("--keep_last", action="store_true",
                   help="keep last.pth (weights + optimizer state) once the run has finished; by default it is removed "
                        "then, since nothing continues a finished run (checkpoint.pth keeps the tested weights)")
    g.add_argument("--tracker", default="none", choices=TRACKERS,
                   help="tensorboard: log each epoch's losses, scores and learning rate and the final metrics to "
                        "<run folder>/tensorboard (needs: pip install tensorboard)")
    g.add_argument("--deterministic", action="store_true",
                   help="PyTorch's deterministic algorithms (no cost measured on CPU; can be slower on GPU)")

    g = p.add_argument_group("device")
    g.add_argument("--use_gpu", type=str2bool, default=True, help="use CUDA when available")
    g.add_argument("--gpu", type=int, default=0, help="CUDA device index")
    g.add_argument("--ddp", action="store_true",
                   help="DistributedDataParallel (OpenLTM's flag); runs under torchrun are detected without it")
    g.add_argument("--amp", nargs="?", const="auto", default="off", choices=AMP_CHOICES,
                   help="mixed precision. auto (the bare flag): bf16 autocast on GPUs that have it (compute capability "
                        "8.0+), else fp16 autocast with a gradient scaler (a T4); on CPU give bf16 or fp16 explicitly")
    g.add_argument("--use_amp", dest="amp", action="store_const", const="auto",
                   help="OpenLTM / Time-Series-Library's name for --amp auto")
    g.add_argument("--compile", action="store_true", help="torch.compile the model for training")
    g.add_argument("--num_workers", type=int, default=0,
                   help="accepted for compatibility; batches are gathered in-process by vectorised indexing")
    return p


def explicit_flags(argv: list[str]) -> set[str]:
    """The destinations the user actually typed: parse again with every default suppressed."""
    shadow = build_parser()
    for action in shadow._actions:
        action.default = argparse.SUPPRESS
    return set(vars(shadow.parse_args(argv)))


def defaults() -> dict:
    """Every option's default, as --help shows it (the one place defaults are written)."""
    return vars(build_parser().parse_args([]))


def resolved_options(options: dict, explicit: set[str]) -> dict:
    """The parsed flags with the preset's sizes filled in and the schedule flags made one: the
    values a Config is built from (the Config then validates them)."""
    out = dict(options)
    if out["preset"] != "none":
        # auto: the small sizes until the data says how many windows there are (exp/defaults.py)
        for key, value in PRESETS["small" if out["preset"] == "auto" else out["preset"]].items():
            if out[key] is None:
                out[key] = value
    if out["cosine"] and out["lradj"] not in (None, "cosine"):
        raise UserError(f"--cosine contradicts --lradj {out['lradj']}; give one of them")
    out["lradj"] = "cosine" if out["cosine"] else (out["lradj"] or "constant")
    out["cosine"] = out["lradj"] == "cosine"
    if out["tmax"] is None:
        out["tmax"] = out["train_epochs"]
    if out["task_name"] == "pretrain":
        # pretraining trains the forecaster and stops on its forecast error, whatever the defaults say
        if "model" not in explicit and out["model"] not in FORECASTERS:
            out["model"] = next(iter(FORECASTERS))
        out["monitor"] = "val_loss"
    if out["replace"] is not None:
        out["replace"] = tuple(out["replace"])
    return out


def setting_name(args, ii: int) -> str:
    """OpenLTM-style run folder name. Only a label: re-testing reads config.json, never this string.

    It names the data file and the label, so runs on another file or label never share a folder
    (nor refuse each other), while the same command always maps to the same folder for --resume.
    For --data UEA the --model_id already names the data set and its labels are the archive's."""
    def file_safe(text: str) -> str:  # column names may hold spaces, slashes, '>'
        return "".join(c if (c.isascii() and c.isalnum()) or c in "_.-" else "-" for c in text)

    data = args.data
    if args.data != "UEA":
        data += f"_{file_safe(Path(args.data_path).stem)}"
        if args.target_from:
            data += f"_{file_safe(args.target_from)}-gt{args.rain_threshold:g}-h{args.horizon}"
        elif args.target:
            data += f"_{file_safe(args.target)}"
    tokens = f"_it{args.input_token_len}" + (f"_ot{args.output_token_len}" if args.task_name == "pretrain" else "")
    adapted = f"_ft-{args.finetune.replace(':', '')}" if args.adaptation else ""
    return (f"{args.task_name}_{args.model_id}_{args.model}_{data}_sl{args.seq_len}{tokens}"
            f"_lr{args.learning_rate}_bt{args.batch_size}_wd{args.weight_decay}_el{args.e_layers}_dm{args.d_model}"
            f"_dff{args.d_ff}_nh{args.n_heads}_cos{args.cosine}{adapted}_{args.des}_{ii}")


def epochs_for_steps(args, n_train_windows: int, world: int = 1) -> int:
    """The epoch count that gives at least ``--train_steps`` optimiser steps over this many train
    windows (each step covers batch_size x accum_steps windows on each of ``world`` processes)."""
    per_step = args.batch_size * args.accum_steps * world
    steps_per_epoch = max(1, math.ceil(n_train_windows / per_step))
    return max(1, math.ceil(args.train_steps / steps_per_epoch))


def _config_path(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--config":
            if i + 1 >= len(argv):
                raise UserError("--config needs a FILE (a YAML recipe)")
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def _recipe_value(action: argparse.Action, key: str, value, path: str):
    """A YAML value checked the way argparse checks the same flag on the command line."""
    where = f"{path}: '{key}'"
    if isinstance(value, bool) and action.choices is not None and "on" in action.choices:
        return "on" if value else "off"   # threshold_tuning: true, as the switch it was
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise UserError(f"{where} is a switch: give true or false, not {value!r}")
        return value
    if isinstance(action, argparse._AppendAction):
        values = value if isinstance(value, list) else [value]
        return [str(v) if action.type is None else action.type(str(v)) for v in values]
    if value is not None and action.type is not None and not isinstance(value, bool):
        try:
            value = action.type(value if not isinstance(value, str) else value.strip())
        except (TypeError, ValueError, argparse.ArgumentTypeError):
            raise UserError(f"{where}: {value!r} is not a valid value (see python run.py --help)")
    if action.choices is not None and value not in action.choices:
        raise UserError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    if action.type is None and value is not None and not isinstance(value, str):
        value = str(value)      # text flags (--split 0.7,0.15,0.15, --features a,b) stay text
    return value


def load_recipe(path: str, parser: argparse.ArgumentParser) -> dict:
    """--config FILE: {flag name: value}; an unknown key is refused naming the nearest valid one."""
    import difflib

    import yaml

    file = Path(path)
    if not file.is_file():
        raise UserError(f"--config {path}: file not found")
    try:
        recipe = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{where}; write one 'flag: value' per line")
    if not isinstance(recipe, dict):
        raise UserError(f"{path}: a recipe is a mapping of flag names to values, one 'flag: value' per line")
    actions = {a.dest: a for a in parser._actions if a.dest not in ("help", "config")}
    out = {}
    for raw_key, value in recipe.items():
        key = str(raw_key).lstrip("-").replace("-", "_")
        if key not in actions:
            near = difflib.get_close_matches(key, list(actions), n=1)
            raise UserError(f"{path}: unknown key '{raw_key}'" + (f"; did you mean '{near[0]}'?" if near else
                                                                  "; see python run.py --help for the flag names"))
        out[key] = _recipe_value(actions[key], key, value, path)
    return out


def parse(argv: list[str]) -> Config:
    """Defaults <- the --config recipe <- the command line, as one frozen Config. A value from the
    recipe counts as given, exactly like a typed flag (the preset, window-sizing and re-test checks
    read that)."""
    parser = build_parser()
    path = _config_path(argv)
    recipe = load_recipe(path, parser) if path else {}
    parser.set_defaults(**recipe)
    explicit = explicit_flags(argv) | set(recipe)
    return Config.from_options(resolved_options(vars(parser.parse_args(argv)), explicit), explicit)


def saved_config(saved: dict, runtime: Config | None = None) -> Config:
    """A run's config.json (either format) as the Config it was trained with: an option newer than
    the run takes its default, and with ``runtime`` (this command's Config) the runtime flags are
    this command's."""
    return Config.from_saved(saved, resolved_options(defaults(), set()), runtime, frozenset(RUNTIME_FLAGS))


def _same_setting(flag: str, saved, given) -> bool:
    if flag.endswith("_path") and saved is not None and given is not None:
        return Path(saved) == Path(given)  # datasets/x/ and datasets/x are the same folder
    if isinstance(saved, (list, tuple)) and isinstance(given, (list, tuple)):
        return list(saved) == list(given)  # config.json holds a repeatable flag (--replace) as a list
    return saved == given


def contradicting_flags(saved: dict, cfg: Config) -> list[str]:
    """Flags the user typed whose value differs from a saved run's (``saved``: config.json's
    options, flat_saved) (runtime flags aside)."""
    return [f for f in sorted(cfg.explicit)
            if f not in RUNTIME_FLAGS and f in saved and not _same_setting(f, saved[f], getattr(cfg, f))]
