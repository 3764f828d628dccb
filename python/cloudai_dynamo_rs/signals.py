"""SIGINT and SIGTERM as KeyboardInterrupt, so that a command cleans up when it is stopped.

Apart from the runner, and with no import but ``_signal``, because ``dry-run`` needs this and
nothing else: importing the runner cost ``dry-run`` ~30 ms of its start, and ``signal``,
``threading`` and ``contextlib`` (enum, collections, functools) ~6 ms more. ``_signal`` is the C
module ``signal`` wraps (``signal`` only adds enums): same handlers, same restoring.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub; see above

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (slow to import)
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager
    from types import FrameType, TracebackType

    Handler = Callable[[int, FrameType | None], None]

_SIGNALS: tuple[int, ...] = (_signal.SIGINT, _signal.SIGTERM)


class Signals:
    """SIGINT and SIGTERM both become KeyboardInterrupt, except inside ``held()``.

    Inside ``held()`` a signal is remembered and raised when the section ends, so that an
    interrupt never falls between sbatch accepting a job and the runner noting its id.
    Signal handlers can only be installed from the main thread; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self._depth = 0
        self._pending = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self._depth:
            self._pending = True
        else:
            raise KeyboardInterrupt

    def installed(self) -> AbstractContextManager[None]:
        """While inside, the handler is installed; the previous ones are put back after."""
        return _Installed(self._handle)

    def held(self, *, reraise: bool = True) -> AbstractContextManager[None]:
        """While inside, a signal is only remembered; at the end of the outermost ``held()``
        (when no exception is on its way out) it is raised, unless ``reraise`` is false."""
        return _Held(self, reraise)


class _Installed:
    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._saved: list[tuple[int, object]] = []

    def __enter__(self) -> None:
        try:
            for sig in _SIGNALS:
                self._saved.append((sig, _signal.signal(sig, self._handler)))
        except ValueError:  # not the main thread: handlers cannot be installed here
            self._restore()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._restore()

    def _restore(self) -> None:
        while self._saved:
            sig, handler = self._saved.pop()
            # None: installed outside Python, cannot be put back; the default is closest.
            _signal.signal(sig, _signal.SIG_DFL if handler is None else handler)


class _Held:
    def __init__(self, signals: Signals, reraise: bool) -> None:
        self._signals = signals
        self._reraise = reraise

    def __enter__(self) -> None:
        self._signals._depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        s = self._signals
        s._depth -= 1
        if kind is None and self._reraise and s._pending and not s._depth:
            s._pending = False
            raise KeyboardInterrupt


def interrupt_on_signals() -> AbstractContextManager[None]:
    """While inside, SIGINT and SIGTERM both raise KeyboardInterrupt (main thread only).

    Lets a command clean up (e.g. the dry-run's staging directory) when it is terminated.
    """
    return Signals().installed()
