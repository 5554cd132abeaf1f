"""The `with` and `async with` forms of a run or stage (Activity's base): entering makes it current,
leaving ends it with the block's outcome. An exception ends it as `failure` and passes through unchanged
(unless the stage allows failure); Ctrl-C, a cancelled task or sys.exit() end it as `cancellation`.

A timeout applies to `async with`: the task is cancelled when it passes, and the block raises
TimeoutError, as asyncio.timeout() does; a synchronous block cannot be interrupted, so there it is refused.
"""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

from ._context import current_scope_var, remove_loose
from .vocabulary import ATTR


class TimeoutError(builtins.TimeoutError):  # noqa: A001 - the Node SDK's name; `except TimeoutError` still catches it
    """Raised from an async run or stage whose `timeout` passed; it ended as `timeout`."""


class Block:
    """What `with` needs of a run or stage; the state it reads is Activity's."""

    __slots__ = ()
    kind: str
    name: str
    _timeout: float | None
    _timer: asyncio.TimerHandle | None
    _token: Any
    _pending: bool
    _ended: bool
    _explicit: str | None
    _failure: dict[str, Any] | None
    _failure_allowed: bool

    def __enter__(self) -> Any:
        if self._timeout is not None:
            raise self._refuse(
                f"{self.kind} {self.name!r}: timeout= applies to `async with` and async functions; "
                "a synchronous block cannot be interrupted"
            )
        self._enter()
        return self

    def _refuse(self, message: str) -> TypeError:
        """A mistake in the code's use of the run or stage: it ends (a run not started yet never starts)."""
        remove_loose(self)
        if self._pending:
            self._pending, self._ended = False, True
        else:
            self.cancel(message)
            self.end()
        return TypeError(message)

    def _enter(self) -> None:
        self._live()
        remove_loose(self)
        self._token = current_scope_var.set(self.scope)

    def __exit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        self._leave()
        return self._exit(error)

    def _leave(self) -> None:
        try:
            current_scope_var.reset(self._token)
        except ValueError:
            # Left in another context than it was entered in (a generator resumed in another task or
            # thread): this one never had the scope set, so there is nothing to restore.
            pass

    def _exit(self, error: BaseException | None) -> bool:
        """Ends with the block's outcome; True when the exception is to be suppressed (allow_failure)."""
        if error is None or isinstance(error, GeneratorExit):
            self.end()
            return False
        if isinstance(error, Exception):
            self._record_failure(error, "timeout" if isinstance(error, TimeoutError) else "failure")
        else:
            self._interrupted(error)
        self.end()
        return self._failure_allowed and isinstance(error, Exception)

    async def __aenter__(self) -> Any:
        self._enter()
        if self._timeout is not None and self._timeout > 0:
            task = asyncio.current_task()
            if task is not None:
                self._timer = asyncio.get_running_loop().call_later(self._timeout, self._expire, task)
        return self

    def _expire(self, task: asyncio.Task[Any]) -> None:
        self._time_out()
        task.cancel()

    async def __aexit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        self._leave()
        timer, self._timer = self._timer, None
        if timer is None:
            return self._exit(error)
        timer.cancel()
        if not (isinstance(error, asyncio.CancelledError) and self._explicit == "timeout"):
            return self._exit(error)
        # Our own cancellation: it becomes a TimeoutError, as asyncio.timeout() does.
        task = asyncio.current_task()
        if task is not None and hasattr(task, "uncancel"):
            task.uncancel()
        if self._failure_allowed:
            return True
        raise TimeoutError(f"{self.kind} {self.name} timed out after {self._timeout:g} s") from error

    def _interrupted(self, error: BaseException) -> None:
        """Ctrl-C, a cancelled task, sys.exit(): the run was stopped, it did not fail."""
        if isinstance(error, SystemExit) and error.code in (0, None):
            return
        self._record_failure(error, "cancellation")

    def _time_out(self) -> None:
        """Ends as `timeout` (the timer's callback: the task is cancelled right after)."""
        if self._live():
            self._explicit = "timeout"
            message = f"timed out after {self._timeout:g} s"
            error_type = {ATTR.ERROR_TYPE: "TimeoutError", ATTR.EXCEPTION_TYPE: "TimeoutError"}
            self._failure = {**error_type, ATTR.EXCEPTION_MESSAGE: message}
            self.end()
