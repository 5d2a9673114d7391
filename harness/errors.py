"""User-facing errors: one line that names what is wrong and where, never a traceback."""


class GauntletError(Exception):
    """A problem the user can fix (bad input, a proxy that will not start, ...).

    The CLI prints `gauntlet: error: <message>` and exits 2; the message must stand alone.
    """


class ScenarioError(GauntletError):
    """A scenario file or a name in it is wrong; the message names the file and the field.

    Always one line of bounded length, whatever the file held: control characters (a newline
    in a key) are escaped and a message past MAX_CHARS is cut."""

    MAX_CHARS = 600

    def __init__(self, message: str) -> None:
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
        if len(text) > self.MAX_CHARS:
            text = text[: self.MAX_CHARS - 3] + "..."
        super().__init__(text)


class HopStartError(GauntletError):
    """A proxy hop (a mitmdump subprocess) failed to start or to report readiness."""


class HopFault(Exception):
    """A hop broke during a cell (it exited, refused, answered an error itself, or does not
    speak HTTP): the cell is ERROR with this message, which names the hop, what happened and
    when. Not a GauntletError: the run goes on with its other cells."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived outside a run's cells (during calibration): the CLI prints
    one line and exits 130, after every work folder and child is gone."""


def unwrap(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (trio nurseries wrap
    whatever escapes them), so a GauntletError raised deep in a topology is still one line."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
