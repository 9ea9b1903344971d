"""Model registries: ``--model NAME`` picks one of these, and the command line's choices are read
from here (add a model in one place: ``@register_classifier("name")`` on its class).

A classifier is built as ``Model(cfg)`` where ``cfg`` carries the resolved flags plus ``n_vars``,
``n_classes`` and ``feature_names``, and is called as ``model(x)`` or ``model(x, pad_mask)`` on
``x [batch, seq_len, n_vars]``, returning logits ``[batch, n_classes]``.
"""
from models import backbone, timer_xl, timer_xl_classifier

CLASSIFIERS = {                                                      # --task_name classification
    "timer_xl_classifier": timer_xl_classifier.Model,
    # the same head on a plain patch transformer (models/backbone.py): a second backbone, no exp/ change
    "patch_transformer_classifier": lambda cfg: timer_xl_classifier.Model(cfg, backbone.PatchTransformer(cfg)),
}
FORECASTERS = {"timer_xl": timer_xl.Model}                          # --task_name pretrain


def register_classifier(name: str):
    def add(cls):
        CLASSIFIERS[name] = cls
        return cls
    return add
