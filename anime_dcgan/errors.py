"""The one kind of error a user can fix: every command turns it into one line on stderr and exit status 2."""


class UserError(Exception):
    """A mistake in the options, the data, a model file or the machine's set-up; the message, one line, says what to
    do. The library raises subclasses named for where the mistake lies (ConfigError, DataError, ...)."""
