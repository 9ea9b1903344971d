"""One typed, frozen configuration per run, built once: defaults <- --config YAML <- command line.

``Config`` holds four sections (``run_config``, ``data_config``, ``model_config``, ``train_config``) and the set of options the
user gave (``explicit``: a typed flag or a key of the YAML recipe; the preset, window sizing,
adaptation and re-test checks read it). Nothing writes into a Config after it is built: a value
found later (window sizes from the data, an architecture from a checkpoint, epochs from a step
budget, the features of the data) comes back as a new Config from ``cfg.derive(name=value)``,
which validates it again. Every section checks its own numbers in ``__post_init__`` and the Config
checks the rules that join sections, with the same one-line UserError messages as the flags.

Options are read by their command-line names, flat: ``cfg.seq_len`` is ``cfg.data_config.seq_len``. The
names are the CLI's (and OpenLTM's / Time-Series-Library's), so code, config.json and the flags
read alike (the sections' names end in ``_config`` because ``data`` and ``model`` are options). The defaults live in one place, the argument parser (utils/cli.py), whose ``--help``
shows them; a section field has no default of its own unless it is not a flag (a value derived
for a run, such as ``n_vars``).

``config.json`` in a run folder is ``cfg.to_json()``: {"format": 2, "run": {...}, "data": {...},
"model": {...}, "train": {...}, "explicit": [...]}. ``Config.from_saved`` rebuilds the same object
from it, and also reads the flat files that runs wrote before sections existed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from utils.errors import UserError

FORMAT = 2
# config.json key -> the Config attribute holding that section
SECTIONS = {"run": "run_config", "data": "data_config", "model": "model_config", "train": "train_config"}


def parse_finetune(text: str) -> tuple[str, int | None]:
    """--finetune: full, linear_probe, or partial:K -> (mode, K)."""
    if text in ("full", "linear_probe"):
        return text, None
    if text.startswith("partial:"):
        k = text.split(":", 1)[1]
        if k.isdigit() and int(k) >= 1:
            return "partial", int(k)
    raise UserError(f"--finetune {text!r}: use full, linear_probe or partial:K (K = trainable last layers, >= 1)")


def _positive(section, *names: str) -> None:
    for name in names:
        value = getattr(section, name)
        if value is None or value <= 0:
            raise UserError(f"--{name} must be a positive whole number, got {value}")


def _not_negative(section, *names: str) -> None:
    for name in names:
        if getattr(section, name) < 0:
            raise UserError(f"--{name} must be 0 or more, got {getattr(section, name)}")


@dataclass(frozen=True)
class RunConfig:
    """What to do and where: the task, repeats and seeds, folders, device and runtime switches."""
    config: str | None
    task_name: str
    output: str | None
    sort_by: str | None
    n_trials: int
    is_training: int
    model_id: str
    des: str
    itr: int
    seed: int
    debug: bool
    checkpoints: str
    run_dir: str | None
    resume: bool
    deterministic: bool
    use_gpu: bool
    gpu: int
    ddp: bool
    amp: str
    compile: bool
    num_workers: int
    keep_last: bool
    tracker: str
    skip_test: bool
    # derived for one repeat of a run (open_run), not flags
    seed_used: int | None = None
    setting: str | None = None
    data_sha256: str | None = None
    precision: str | None = None   # what --amp chose on this device: fp32, bf16 or fp16

    def __post_init__(self):
        _positive(self, "itr", "n_trials")


@dataclass(frozen=True)
class DataConfig:
    """Which file, which label, how to clean it, how to cut it into windows."""
    data: str
    root_path: str
    data_path: str
    date_col: str | None
    group_col: str | None
    target: str | None
    target_from: str | None
    rain_threshold: float | None
    horizon: int
    features: str | None
    exclude: str | None
    split: str
    na_values: str | None
    replace: tuple[str, ...] | None
    duplicates: str
    max_gap: int
    max_missing_share: float
    max_window_loss: float
    derived_columns: str
    embed: str
    freq: str | None
    persistence_input: str
    val_ratio: float
    tokens_per_series: int
    seq_len: int
    input_token_len: int
    output_token_len: int

    def __post_init__(self):
        if self.replace is not None and not isinstance(self.replace, tuple):
            object.__setattr__(self, "replace", tuple(self.replace))  # JSON gives a list
        _positive(self, "seq_len", "input_token_len", "output_token_len")
        _not_negative(self, "horizon", "max_gap")
        if self.horizon == 0 and self.target_from:
            raise UserError("--horizon must be at least 1 with --target_from (the label looks at the steps after the window)")
        if self.target_from and self.rain_threshold is None:
            raise UserError(f"--rain_threshold is required with --target_from: give the amount in the units of "
                            f"'{self.target_from}' (e.g. 0.1 for millimetres; ERA5's tp is in metres)")
        if not 0 < self.max_missing_share <= 1:
            raise UserError(f"--max_missing_share must be in (0, 1], got {self.max_missing_share}")
        if not 0 < self.max_window_loss <= 1:
            raise UserError(f"--max_window_loss must be in (0, 1], got {self.max_window_loss}")
        if self.data == "UEA":
            if not 0 <= self.val_ratio < 1:
                raise UserError(f"--val_ratio must be at least 0 and below 1, got {self.val_ratio}")
            _positive(self, "tokens_per_series")


@dataclass(frozen=True)
class ModelConfig:
    """The network: which model, its size, and where its starting weights come from."""
    model: str
    preset: str
    e_layers: int
    d_model: int
    d_ff: int
    n_heads: int
    dropout: float
    activation: str
    use_norm: bool
    covariate: bool
    pooling: str
    highway: str
    n_classes: int | None
    pos_label: int
    adaptation: bool
    pretrain_model_path: str | None
    allow_partial_load: bool
    pretrain_stage: str
    # found in the data for a run (open_run), not flags
    n_vars: int | None = None
    feature_names: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.feature_names is not None and not isinstance(self.feature_names, tuple):
            object.__setattr__(self, "feature_names", tuple(self.feature_names))
        for key in ("e_layers", "d_model", "d_ff", "n_heads"):
            if getattr(self, key) is None:
                raise UserError(f"--{key} is required with --preset none")
        _positive(self, "e_layers", "d_model", "d_ff", "n_heads")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 4:
            raise UserError(f"--d_model {self.d_model} / --n_heads {self.n_heads} must be a whole multiple of 4; "
                            "change one of them")
        if not 0 <= self.dropout < 1:
            raise UserError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.adaptation and not self.pretrain_model_path:
            raise UserError("--adaptation needs --pretrain_model_path PATH (an OpenLTM timer_xl checkpoint or a "
                            "checkpoint.pth from --task_name pretrain)")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, schedule, early stopping, class imbalance and fine-tuning."""
    batch_size: int
    learning_rate: float
    weight_decay: float
    train_epochs: int
    train_steps: int | None
    select_epoch: str
    patience: int
    min_delta: float
    monitor: str
    cosine: bool
    tmax: int
    lradj: str
    warmup_epochs: int
    clip_grad: float
    accum_steps: int
    loss: str
    class_weights: str
    focal_gamma: float
    input_noise: float
    mixup: float
    threshold_tuning: str
    finetune: str
    backbone_lr_scale: float
    subset_rand_ratio: float

    def __post_init__(self):
        _positive(self, "batch_size", "train_epochs", "tmax", "accum_steps")
        _not_negative(self, "patience", "warmup_epochs")
        if self.patience == 0:
            raise UserError("--patience must be at least 1")
        if self.train_steps is not None and self.train_steps <= 0:
            raise UserError(f"--train_steps must be a positive whole number, got {self.train_steps}")
        if not self.min_delta >= 0:
            raise UserError(f"--min_delta must be 0 or more (a fraction of the best --monitor value), got {self.min_delta}")
        if self.learning_rate <= 0:
            raise UserError(f"--learning_rate must be positive, got {self.learning_rate}")
        if self.cosine != (self.lradj == "cosine"):
            raise UserError(f"--cosine contradicts --lradj {self.lradj}; give one of them")
        if not 0 < self.subset_rand_ratio <= 1:
            raise UserError(f"--subset_rand_ratio must be in (0, 1], got {self.subset_rand_ratio}")
        if not self.input_noise >= 0:
            raise UserError(f"--input_noise must be 0 or more (a standard deviation in standardised units), "
                            f"got {self.input_noise}")
        if not self.mixup >= 0:
            raise UserError(f"--mixup must be 0 (off) or a positive Beta parameter such as 0.2, got {self.mixup}")
        if self.backbone_lr_scale <= 0:
            raise UserError(f"--backbone_lr_scale must be positive, got {self.backbone_lr_scale}")
        parse_finetune(self.finetune)


_SECTION_TYPES = {"run": RunConfig, "data": DataConfig, "model": ModelConfig, "train": TrainConfig}
# option name -> the section that holds it
_HOME = {f.name: SECTIONS[name] for name, cls in _SECTION_TYPES.items() for f in dataclasses.fields(cls)}


@dataclass(frozen=True)
class Config:
    run_config: RunConfig
    data_config: DataConfig
    model_config: ModelConfig
    train_config: TrainConfig
    explicit: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        if not isinstance(self.explicit, frozenset):
            object.__setattr__(self, "explicit", frozenset(self.explicit))
        self._check_across_sections()

    # ------------------------------------------------------------------------------- reading
    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: the flat option names
        if name.startswith("__") or name not in _HOME:
            raise AttributeError(f"Config has no option {name!r}")
        return getattr(object.__getattribute__(self, _HOME[name]), name)

    def flat(self) -> dict[str, Any]:
        """Every option by its command-line name (plus the derived values), and ``explicit``."""
        out: dict[str, Any] = {}
        for attribute in SECTIONS.values():
            out.update(dataclasses.asdict(getattr(self, attribute)))
        out["explicit"] = sorted(self.explicit)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **{key: dataclasses.asdict(getattr(self, attr)) for key, attr in SECTIONS.items()},
                "explicit": sorted(self.explicit)}

    # ------------------------------------------------------------------------------ deriving
    def derive(self, **values: Any) -> "Config":
        """A new Config with these options changed (validated again); this one is untouched."""
        explicit = values.pop("explicit", self.explicit)
        by_section: dict[str, dict[str, Any]] = {}
        for key, value in values.items():
            if key not in _HOME:
                raise TypeError(f"no option {key!r} to derive")
            by_section.setdefault(_HOME[key], {})[key] = value
        sections = {name: dataclasses.replace(getattr(self, name), **changes) for name, changes in by_section.items()}
        return dataclasses.replace(self, explicit=frozenset(explicit), **sections)

    # ----------------------------------------------------------------------------- building
    @classmethod
    def from_options(cls, options: dict[str, Any], explicit=frozenset()) -> "Config":
        """From a complete {option: value} mapping (the parser's result, or a saved config)."""
        missing = [f.name for name, sec in _SECTION_TYPES.items() for f in dataclasses.fields(sec)
                   if f.default is dataclasses.MISSING and f.name not in options]
        if missing:
            raise TypeError(f"options missing: {missing}")
        sections = {SECTIONS[name]: sec(**{f.name: options[f.name] for f in dataclasses.fields(sec) if f.name in options})
                    for name, sec in _SECTION_TYPES.items()}
        return cls(**sections, explicit=frozenset(explicit))

    @classmethod
    def from_saved(cls, saved: dict, defaults: dict[str, Any], runtime: "Config | None" = None,
                   runtime_flags: frozenset[str] = frozenset()) -> "Config":
        """A run's config.json (either format) as the Config it ran with. An option newer than the
        run takes its default from ``defaults``; with ``runtime`` (this command's Config) the
        runtime flags are this command's."""
        options = {**defaults, **{k: v for k, v in flat_saved(saved).items() if k in _HOME}}
        if runtime is not None:
            options.update({flag: getattr(runtime, flag) for flag in runtime_flags})
        return cls.from_options(options, saved.get("explicit", ()))

    # ---------------------------------------------------------------------------- validation
    def _check_across_sections(self) -> None:
        from models import CLASSIFIERS, FORECASTERS  # light: the registries import no torch code paths

        given = self.explicit
        if self.train_config.train_steps is not None and "train_epochs" in given:
            raise UserError("--train_steps and --train_epochs both set the training length; give one of them")
        if self.train_config.select_epoch == "last" and "patience" in given:
            raise UserError("--patience has no effect with --select_epoch last (no early stopping); drop one of them")
        task = self.run_config.task_name
        if task == "pretrain":
            for flag in ("input_noise", "mixup", "highway"):
                if flag in given:
                    raise UserError(f"--{flag} applies to classification runs; --task_name pretrain trains the "
                                    "forecaster without it: drop the flag here and give it to the classification run")
            if self.model_config.model not in FORECASTERS:
                raise UserError(f"--task_name pretrain trains a forecaster ({', '.join(sorted(FORECASTERS))}), "
                                f"not {self.model_config.model}")
            # archive windows are sized from the data set --model_id names, after this check
            sized_later = self.data_config.data == "UEA" and "input_token_len" not in given
            if self.data_config.seq_len % self.data_config.input_token_len and not sized_later:
                raise UserError(f"--task_name pretrain needs --seq_len ({self.data_config.seq_len}) to be a multiple of "
                                f"--input_token_len ({self.data_config.input_token_len}): every token must be real data")
        elif self.run_config.skip_test:
            raise UserError(f"--skip_test applies to --task_name pretrain (pretraining on a table whose test period a "
                            f"classification run will score); --task_name {task} always scores its test split")
        elif self.model_config.model not in CLASSIFIERS:
            raise UserError(f"--task_name {task} uses a classifier ({', '.join(sorted(CLASSIFIERS))}), "
                            f"not {self.model_config.model}")
        if task == "predict":
            if not self.run_config.output:
                raise UserError("--task_name predict needs --output OUT.csv, the file to write the predictions to")
            if Path(self.run_config.output).resolve() == (Path(self.data_config.root_path) / self.data_config.data_path).resolve():
                raise UserError(f"--output {self.run_config.output} is the data file itself; give another file name")
        if self.data_config.data == "UEA":
            if "tokens_per_series" in given and "input_token_len" in given:
                raise UserError("--tokens_per_series and --input_token_len both set the token length; give one of them")
            if self.data_config.val_ratio == 0 and self.train_config.select_epoch != "last":
                raise UserError("--val_ratio 0 leaves no validation split to stop early or pick the best epoch on; "
                                "add --select_epoch last (a fixed budget, e.g. --train_steps 600)")
            if self.data_config.val_ratio == 0 and self.train_config.threshold_tuning == "on":
                raise UserError("--threshold_tuning chooses the threshold on validation, and --val_ratio 0 has none; "
                                "drop one of them")


def flat_saved(saved: dict) -> dict[str, Any]:
    """A config.json as {option: value}: sections merged (format 2), or the flat file of a run
    written before sections existed (read as it is)."""
    if saved.get("format") == FORMAT:
        out = {}
        for key in SECTIONS:
            out.update(saved.get(key, {}))
        out["explicit"] = saved.get("explicit", [])
        return _before_these_flags(out)
    old = dict(saved)
    old.setdefault("embed", "none")  # calendar covariates came later: an older run had none
    if isinstance(old.get("amp"), bool):  # --amp was a switch: on meant bf16 autocast on CUDA
        old["amp"] = "bf16" if old["amp"] else "off"
    if isinstance(old.get("threshold_tuning"), bool):  # so was --threshold_tuning
        old["threshold_tuning"] = "on" if old["threshold_tuning"] else "off"
    return _before_these_flags(old)


def _before_these_flags(options: dict[str, Any]) -> dict[str, Any]:
    """A run saved before these options existed ran as they were then: no highway, no noise, no
    mixup, no persistence input, and every column the data step chose kept (re-test and --resume need the same inputs)."""
    for name, then in (("highway", "off"), ("input_noise", 0.0), ("mixup", 0.0), ("derived_columns", "keep"),
                       ("max_window_loss", 1.0), ("persistence_input", "off"),
                       ("pretrain_stage", "off")):
        options.setdefault(name, then)
    return options


def read_run_config(path: Path | str) -> dict[str, Any]:
    """A run folder's config.json as {option: value} (either format); what the commands that look
    for runs (re-test, resume, predict, compare, the scripts) read."""
    import json

    return flat_saved(json.loads(Path(path).read_text()))
