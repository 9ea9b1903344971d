"""``--data NAME`` -> the loader that turns it into train/val/test windows."""
from data_provider import rainfall, uea

DATA_LOADERS = {
    # the generic rainfall/weather CSV loader: any station/region CSV, not one file
    "PeruRainfall": rainfall.prepare,
    # the UEA/UCR archive's NAME_TRAIN.ts / NAME_TEST.ts
    "UEA": uea.prepare_uea,
}


def data_provider(args):
    return DATA_LOADERS[args.data](args)
