"""Model registry: ``--model NAME`` picks one of these."""
from models import timer_xl_classifier

CLASSIFIERS = {"timer_xl_classifier": timer_xl_classifier.Model}
