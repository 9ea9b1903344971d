"""``--data NAME`` -> the loader that turns it into train/val/test windows."""
from data_provider import rainfall

DATA_LOADERS = {
    # the generic rainfall/weather CSV loader: any station/region CSV, not one file
    "PeruRainfall": rainfall.prepare,
}


def data_provider(args):
    return DATA_LOADERS[args.data](args)
