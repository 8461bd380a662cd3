"""Every error a user can act on, in one place.

Messages are written for the person at the terminal or in the app: they say what is
wrong and what to do, in one line, and never carry a stack trace to the user.
"""


class VigilError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits 2."""


class DataDirLockedError(VigilError):
    """Another process holds the data dir's database (DuckDB allows one writer)."""


class ImportFileError(VigilError):
    """An import file is malformed; nothing from it was stored."""


class SettingsError(VigilError):
    """The settings file or environment holds an invalid value."""


class RuleError(VigilError):
    """A rule definition is invalid; nothing was saved."""


class BusyError(VigilError):
    """A job asked for by hand is already running; nothing was started."""


class IntakeError(VigilError):
    """A webhook payload is malformed; nothing from it was stored."""


class ForwardError(VigilError):
    """At least one Alertmanager did not take the forwarded alerts; the others did."""


class PermissionDenied(VigilError):
    """The signed-in user's role does not allow this change."""


class LoginError(VigilError):
    """A login that did not succeed; the message never says which part was wrong."""
