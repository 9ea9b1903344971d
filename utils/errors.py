"""The exceptions run.py turns into one line and an exit status (documented in README, Troubleshooting):

    0  done
    1  an internal error (a bug: Python's traceback is shown)
    2  bad input or a bad flag (UserError): the line names the file, column or flag and what to do
    3  training failed (TrainingFailure: a non-finite loss or gradient; the best checkpoint is kept)
    4  pretraining skipped (PretrainingSkipped): nothing to pretrain on; scripts go on without it
"""

BAD_INPUT_EXIT = 2
TRAINING_FAILURE_EXIT = 3
SKIPPED_EXIT = 4


class UserError(Exception):
    """Bad input or a bad flag. The message names the file, column or flag and says what to do."""


class TrainingFailure(Exception):
    """Training could not go on (the message is the diagnosis); not a mistake in the input, so its
    exit status differs from a typo's, and a script can tell the two apart."""


class PretrainingSkipped(UserError):
    """Pretraining has nothing to train on under the automatic window sizing (the set's series are
    too short). Not a mistake the user made: run.py exits with SKIPPED_EXIT so that a script can go
    on without a checkpoint."""
