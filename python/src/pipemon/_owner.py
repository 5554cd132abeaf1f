"""Which SDK instance wrote a spool segment or an open-run marker, and whether it still runs. Files are
named with the writer's pid and a random instance id: a live writer's files are its own (another process
must not replay and delete a segment still being appended to); a dead one's are taken over by the next
start. The instance id tells a dead process from a later one that reuses its pid, and an SDK instance
shut down in this process from the one started after it. The twin is sdk/spool/owner.ts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Owner:
    pid: int
    # 8 lowercase hex digits.
    instance: str


@dataclass(frozen=True)
class Claim(Owner):
    def release(self) -> None:
        """This instance stopped writing: its files are left for the next start to take over."""
        _running.discard(self.instance)


# Whether files of an owner belong to a writer that still runs.
Liveness = Callable[[Owner], bool]

# The instances claimed in this process and not released. set.add and set.discard are atomic under the GIL.
_running: set[str] = set()


def claim_owner() -> Claim:
    instance = secrets.token_hex(4)
    _running.add(instance)
    return Claim(os.getpid(), instance)


def forget_claims() -> None:
    """For a forked child: the parent's instances are not this process's (the parent's pid still runs)."""
    _running.clear()


def is_alive(owner: Owner) -> bool:
    """Whether files of `owner` belong to a writer that still runs."""
    if owner.pid == os.getpid():
        return owner.instance in _running
    # kill(0) and kill(-n) address process groups, not a process: no writer has such a pid.
    if owner.pid <= 0:
        return False
    if os.name == "nt":
        return _runs_on_windows(owner.pid)
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The pid runs under another user, so it is alive (a reused pid at worst delays replay).
        return True
    except OSError:
        return False
    return True


def _runs_on_windows(pid: int) -> bool:
    # os.kill(pid, 0) sends CTRL_C_EVENT on Windows instead of testing the pid: ask the kernel instead.
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    process_query_limited_information, access_denied, still_active = 0x1000, 5, 259
    handle = kernel32.OpenProcess(process_query_limited_information, False, pid)
    if not handle:
        return ctypes.get_last_error() == access_denied  # type: ignore[attr-defined]
    try:
        code = ctypes.c_ulong()
        return not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value == still_active
    finally:
        kernel32.CloseHandle(handle)
