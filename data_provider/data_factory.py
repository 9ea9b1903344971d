"""``--data NAME`` -> the loader that turns it into train/val/test windows. The command line's
``--data`` choices are read from DATA_LOADERS: a loader is added in one place, with
``@register_loader("Name")`` on a function ``args -> PreparedData`` (data_provider/base.py)."""
from data_provider import rainfall, uea, uea_corpus

DATA_LOADERS = {
    # the generic rainfall/weather CSV loader: any station/region CSV, not one file
    "PeruRainfall": rainfall.prepare,
    # the UEA/UCR archive's NAME_TRAIN.ts / NAME_TEST.ts
    "UEA": uea.prepare_uea,
}
# loaders with their own unlabeled corpus for --task_name pretrain
PRETRAIN_LOADERS = {"UEA": uea_corpus.prepare_uea_corpus}


def register_loader(name: str):
    def add(fn):
        DATA_LOADERS[name] = fn
        return fn
    return add


def data_provider(args):
    if args.task_name == "pretrain" and args.data in PRETRAIN_LOADERS:
        # e.g. unlabeled series from every archive TRAIN file under --root_path
        return PRETRAIN_LOADERS[args.data](args)
    return DATA_LOADERS[args.data](args)
