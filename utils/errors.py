"""The one exception type that means "the user can fix this": run.py prints it as one line."""


class UserError(Exception):
    """Bad input or a bad flag. The message names the file, column or flag and says what to do."""
