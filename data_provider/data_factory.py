"""``--data NAME`` -> the loader that turns it into train/val/test windows."""
from data_provider import rainfall, uea, uea_corpus

DATA_LOADERS = {
    # the generic rainfall/weather CSV loader: any station/region CSV, not one file
    "PeruRainfall": rainfall.prepare,
    # the UEA/UCR archive's NAME_TRAIN.ts / NAME_TEST.ts
    "UEA": uea.prepare_uea,
}


def data_provider(args):
    if args.data == "UEA" and args.task_name == "pretrain":
        # unlabeled series from every archive TRAIN file under --root_path
        return uea_corpus.prepare_uea_corpus(args)
    return DATA_LOADERS[args.data](args)
