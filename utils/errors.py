"""The one exception type that means "the user can fix this": run.py prints it as one line."""


class UserError(Exception):
    """Bad input or a bad flag. The message names the file, column or flag and says what to do."""


class PretrainingSkipped(UserError):
    """Pretraining has nothing to train on under the automatic window sizing (the set's series are
    too short). Not a mistake the user made: run.py exits with SKIPPED_EXIT so that a script can go
    on without a checkpoint."""


SKIPPED_EXIT = 3  # run.py's exit status for PretrainingSkipped (2 is a UserError)
