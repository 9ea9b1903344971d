"""``--task_name tune``: a search over training options, scored on validation, with Optuna (an
optional dependency: ``pip install optuna``).

Folder ``<checkpoints>/tune_<model_id>/``:
    study.db      the Optuna study (SQLite); the same command again resumes it
    tune.log      everything the search printed
    <run folders> one classification run per trial (``--des trialN``), as a training run leaves it
    summary.csv   their rows (``--task_name compare --checkpoints <folder>`` ranks them by validation)
    trials.csv    one row per trial: state, validation value, drawn values, run folder
    best.yaml     the best trial as a ``--config`` recipe: the flags given here plus its values

Every trial trains on the same data with the same seed and is scored by the validation --monitor
value of its tested epoch, read from its epochs.csv. Its run folder also holds test metrics,
because a classification run always tests; the search never opens them.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from data_provider.data_factory import data_provider
from exp import console, diagnosis
from exp.exp_classification import train_runs
from exp.training_loop import tested_validation_value
from utils.atomic_io import write_csv, write_text
from utils.cli import RUNTIME_FLAGS
from utils.distributed import STATE
from utils.early_stopping import MONITORS
from utils.errors import TrainingFailure, UserError
from utils.run_log import RunLog

# flags a recipe leaves to the command that runs it (where to write, which device), and this task's own
NOT_IN_RECIPE = (RUNTIME_FLAGS - {"batch_size"}) | {"task_name", "n_trials", "itr", "des", "output", "sort_by"}
WIDTHS = (32, 64, 128)


def import_optuna():
    try:
        import optuna
    except ImportError:
        raise UserError("--task_name tune needs optuna: pip install optuna") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the search prints its own line per trial
    return optuna


# ------------------------------------------------------------------------------- what is searched
def search_space(cfg, optuna) -> tuple[dict, list[str]]:
    """The distributions the trials draw from, and a line for each option of the space held fixed
    (a flag the user gave is never searched)."""
    d = optuna.distributions
    # a drawn width comes with 4 heads unless --n_heads was given; d_model / n_heads must be a multiple of 4
    widths = [w for w in WIDTHS if "n_heads" not in cfg.explicit or (w % cfg.n_heads == 0 and w // cfg.n_heads % 4 == 0)]
    space = {
        "learning_rate": d.FloatDistribution(1e-4, 3e-3, log=True),
        "e_layers": d.CategoricalDistribution([1, 2, 3]),
        "d_model": d.CategoricalDistribution(widths or [cfg.d_model]),  # none: held, below
        "dropout": d.FloatDistribution(0.0, 0.4),
        "weight_decay": d.FloatDistribution(1e-5, 1e-1, log=True),
        "class_weights": d.CategoricalDistribution(["none", "balanced"]),
        # the two levers that helped one kind of table on validation and hurt the other (docs/results.md)
        "input_noise": d.FloatDistribution(0.0, 0.5),
        "highway": d.CategoricalDistribution(["off", "on"]),
    }
    held = {name: f"{getattr(cfg, name)} (given)" for name in space if name in cfg.explicit}
    for name in ("e_layers", "d_model"):
        if name in held:
            continue
        if cfg.adaptation:
            held[name] = "the pretrained checkpoint's (--adaptation)"
        elif "preset" in cfg.explicit:
            held[name] = (f"{getattr(cfg, name)} (--preset {cfg.preset})" if cfg.preset != "auto"
                          else "from the data (--preset auto)")
    if "d_model" not in held and not widths:
        held["d_model"] = f"{cfg.d_model} (--n_heads {cfg.n_heads} suits none of {', '.join(map(str, WIDTHS))})"
    if "class_weights" not in held and cfg.monitor == "val_loss":
        # the validation loss is weighted by them: losses under different weights do not compare
        held["class_weights"] = (f"{cfg.class_weights} (--monitor val_loss is weighted by the class weights; "
                                 "--monitor val_macro_f1 searches them)")
    return ({name: dist for name, dist in space.items() if name not in held},
            [f"{name} {why}" for name, why in held.items()])


def describe(dist) -> str:
    if hasattr(dist, "choices"):
        return "{" + ", ".join(map(str, dist.choices)) + "}"
    return f"{dist.low:g}..{dist.high:g}" + (" (log)" if dist.log else "")


def trial_options(params: dict, cfg) -> dict:
    """A trial's option values: the drawn ones, and the sizes a drawn size implies."""
    if "e_layers" not in params and "d_model" not in params:
        return dict(params)
    # a drawn size replaces the preset, so all four sizes are written out
    drawn_width = "d_model" in params
    d_model = params.get("d_model", cfg.d_model)
    sizes = {"preset": "none", "e_layers": params.get("e_layers", cfg.e_layers), "d_model": d_model,
             "d_ff": 2 * d_model if drawn_width and "d_ff" not in cfg.explicit else cfg.d_ff,
             "n_heads": 4 if drawn_width and "n_heads" not in cfg.explicit else cfg.n_heads}
    return {**sizes, **params}


def given_flags(cfg) -> dict:
    """The flags the user gave (typed or from --config), as a recipe holds them: what every trial
    shares, what a resumed search must repeat, and the first part of best.yaml."""
    flat = cfg.flat()
    return {name: list(flat[name]) if isinstance(flat[name], tuple) else flat[name]
            for name in sorted(cfg.explicit - NOT_IN_RECIPE)}


# --------------------------------------------------------------------------------- one trial
def counted(study, optuna) -> list:
    """Trials that ran to an end, scored or failed in training; an interrupted one is run again."""
    state = optuna.trial.TrialState
    return [t for t in study.trials
            if t.state == state.COMPLETE or (t.state == state.FAIL and "failure" in t.user_attrs)]


def shown(params: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in params.items())


# ------------------------------------------------------------------------------------- the task
def tune_task(cfg, log: RunLog) -> None:
    optuna = import_optuna()
    if STATE.enabled:
        raise UserError("--task_name tune runs its trials one after another in one process; start it without "
                        "torchrun or --ddp")
    folder = Path(cfg.checkpoints) / f"tune_{cfg.model_id}"
    db = folder / "study.db"
    if not db.exists() and folder.exists() and any(folder.iterdir()):
        raise UserError(f"{folder} holds files but no study.db, so its trials cannot be resumed; move it away or "
                        "give another --model_id")
    # the data once, for every trial (they differ in model and training options only); a bad data
    # flag stops here, before a study exists
    data = data_provider(cfg)
    for line in console.data_summary(data.report):
        log(line)
    if not len(data.splits["val"]):
        raise UserError("--task_name tune scores every trial on the validation split, and this data has none; "
                        "give a --split (or --val_ratio) that keeps one")
    if data.is_weather:  # the trials' logs repeat these in their train.log only
        for line in diagnosis.leaking_columns(data.splits["train"], data.features, data.n_classes):
            log(f"WARNING: {line}")
    space, held = search_space(cfg, optuna)
    if not space:
        raise UserError("every option the search draws was given (" + "; ".join(held) + "); leave one of them "
                        "out to search it")
    folder.mkdir(parents=True, exist_ok=True)
    log.attach(folder / "tune.log")

    study = open_study(cfg, db, optuna, log)
    done = len(counted(study, optuna))
    log(f"tune: {cfg.n_trials} trials on validation {cfg.monitor} "
        f"({'higher' if MONITORS[cfg.monitor] else 'lower'} is better); {done} done in {db}")
    log("  searching: " + "; ".join(f"{k} {describe(v)}" for k, v in space.items()))
    if held:
        log("  held fixed: " + "; ".join(held))
    log(f"  every trial trains with seed {cfg.seed} and is scored on validation only; its run folder also holds "
        "test metrics (a classification run always tests), which the search never reads")
    for position in range(done + 1, cfg.n_trials + 1):
        run_trial(study, optuna, space, cfg, data, folder, f"{position}/{cfg.n_trials}", log)
    finish(study, optuna, cfg, folder, log)


def run_trial(study, optuna, space: dict, cfg, data, folder: Path, position: str, log: RunLog) -> None:
    """Draw a trial's values, train it as a classification run in ``folder``, and tell the study its
    validation value; a training failure fails the trial and the search goes on."""
    trial = study.ask(space)
    options = trial_options(trial.params, cfg)
    # a trial trains from scratch unless --pretrain_stage was given: a stage per trial costs more than a trial
    stage = cfg.pretrain_stage if "pretrain_stage" in cfg.explicit else "off"
    trial_cfg = cfg.derive(task_name="classification", is_training=1, itr=1, resume=False, pretrain_stage=stage,
                           des=f"trial{trial.number}", checkpoints=str(folder),
                           explicit=cfg.explicit | set(options), **options)
    # a trial's lines go to its train.log only: they end with its test metrics, which the search does not show
    trial_log = RunLog(echo=False)
    head = f"trial {trial.number} ({position}): {shown(trial.params)}"
    try:
        (run_dir,) = train_runs(trial_cfg, trial_log, data)
        value = tested_validation_value(run_dir, cfg.monitor)
    except TrainingFailure as err:
        if trial_log.path is not None:
            trial.set_user_attr("run_dir", str(trial_log.path.parent))
        trial.set_user_attr("failure", str(err))
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        log(f"{head} -> failed: {err}")
        return
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # interrupted or refused: not counted
        raise
    trial.set_user_attr("run_dir", str(run_dir))
    study.tell(trial, value)
    best = study.best_trial
    log(f"{head} -> {cfg.monitor} {value:.4f}; best {best.value:.4f} (trial {best.number})")


def open_study(cfg, db: Path, optuna, log: RunLog):
    """The study in ``db``, new or resumed. A resumed one must have been started with the same flags
    (else its trials would not compare), and a trial its last process left running is marked failed."""
    storage = f"sqlite:///{db.resolve()}"
    study = optuna.create_study(storage=storage, study_name=cfg.model_id, load_if_exists=True,
                                direction="maximize" if MONITORS[cfg.monitor] else "minimize")
    # seeded, and moved on by the trials already there: a resumed search does not draw its first values again
    study = optuna.load_study(study_name=cfg.model_id, storage=storage,
                              sampler=optuna.samplers.TPESampler(seed=cfg.seed + len(study.trials)))
    given = json.loads(json.dumps(given_flags(cfg)))  # as the storage gives it back: tuples as lists
    saved = study.user_attrs.get("flags")
    if saved is None:
        study.set_user_attr("flags", given)
    elif saved != given:
        differing = "; ".join(f"--{k} {saved.get(k, 'not given')} there, {given.get(k, 'not given')} here"
                              for k in sorted(saved.keys() | given.keys()) if saved.get(k) != given.get(k))
        raise UserError(f"{db} holds a search started with other flags ({differing}); resume it with the flags it "
                        "was started with, or give another --model_id for a new search")
    for stale in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        # its half-written run folder stays; later trials have other numbers, so other folders
        study.tell(stale.number, state=optuna.trial.TrialState.FAIL)
        log(f"trial {stale.number} was interrupted: marked failed, not counted toward --n_trials")
    return study


def trials_table(study, optuna, monitor: str) -> pd.DataFrame:
    state = optuna.trial.TrialState
    rows = []
    for t in study.trials:
        kind = ("complete" if t.state == state.COMPLETE else "failed" if "failure" in t.user_attrs
                else "interrupted" if t.state == state.FAIL else t.state.name.lower())
        rows.append({"trial": t.number, "state": kind, monitor: t.value, **t.params,
                     "run_dir": t.user_attrs.get("run_dir"), "note": t.user_attrs.get("failure")})
    return pd.DataFrame(rows)


def finish(study, optuna, cfg, folder: Path, log: RunLog) -> None:
    """trials.csv, the table of trials best first, and best.yaml."""
    table = trials_table(study, optuna, cfg.monitor)
    write_csv(folder / "trials.csv", table)
    if not (table["state"] == "complete").any():
        raise TrainingFailure(f"no trial of {folder} finished training; {folder / 'trials.csv'} says why")
    ranked = table.sort_values(cfg.monitor, ascending=not MONITORS[cfg.monitor], na_position="last")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        lines = ranked.drop(columns=["run_dir", "note"]).to_string(index=False).splitlines()
    log(f"trials by validation {cfg.monitor}, best first ({folder / 'trials.csv'}):")
    for line in lines:
        log("  " + line)

    best = study.best_trial
    recipe = folder / "best.yaml"
    given = given_flags(cfg)
    chosen = {k: v for k, v in trial_options(best.params, cfg).items() if k not in given}
    if "pretrain_stage" not in given:
        chosen["pretrain_stage"] = "off"   # every trial trained from scratch: the recipe says so
    write_recipe(recipe, given, chosen, [
        f"--task_name tune: trial {best.number} of {len(study.trials)}, validation {cfg.monitor} {best.value:.4f}",
        f"its run folder: {best.user_attrs['run_dir']}",
        f"train it: python run.py --config {recipe}  (add --checkpoints DIR, --model_id NAME as you like)"])
    log(f"best: trial {best.number}, validation {cfg.monitor} {best.value:.4f}: {shown(best.params)}")
    log(f"  its run (trained and tested with these values): {best.user_attrs['run_dir']}")
    log(f"  recipe: {recipe}; train it with: python run.py --config {recipe}")


def write_recipe(path: Path, given: dict, chosen: dict, comments: list[str]) -> None:
    """A --config recipe: the flags given to the search, then the values it chose."""
    import yaml

    text = "".join(f"# {line}\n" for line in comments)
    for title, values in (("flags given to the search", given), ("chosen by the search", chosen)):
        if values:
            text += f"# {title}\n" + yaml.safe_dump(values, sort_keys=False)
    write_text(path, text)
