from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from pipemon._owner import Owner, claim_owner, forget_claims, is_alive


def test_a_claim_is_this_process_with_a_random_instance_alive_until_released() -> None:
    claim = claim_owner()
    assert claim.pid == os.getpid()
    assert re.fullmatch(r"[0-9a-f]{8}", claim.instance)
    assert claim_owner().instance != claim.instance
    assert is_alive(claim)
    claim.release()
    assert not is_alive(claim)


def test_an_instance_never_claimed_in_this_process_is_dead() -> None:
    assert not is_alive(Owner(os.getpid(), "00000000"))


def test_pids_that_address_process_groups_are_dead() -> None:
    assert not is_alive(Owner(0, "00000000"))
    assert not is_alive(Owner(-1, "00000000"))


def test_another_running_process_is_alive_and_a_gone_one_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        assert is_alive(Owner(child.pid, "00000000"))
    finally:
        child.communicate(b"")
    assert not is_alive(Owner(child.pid, "00000000"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX users")
def test_a_process_of_another_user_is_alive() -> None:
    # pid 1 runs as root: kill(1, 0) is refused to a user, which still tells it runs. Root may signal any
    # process, so as root (CI) a forked child asks after giving up root for nobody's uid.
    pid = os.fork()
    if pid == 0:
        if os.getuid() == 0:
            os.setuid(65534)
        os._exit(0 if is_alive(Owner(1, "00000000")) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_forget_claims_leaves_no_instance_of_this_process_alive() -> None:
    claim = claim_owner()
    forget_claims()
    assert not is_alive(claim)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_sees_its_parents_files_alive_and_after_forget_claims_none_of_its_own() -> None:
    claim = claim_owner()
    pid = os.fork()
    if pid == 0:
        inherited = is_alive(Owner(os.getpid(), claim.instance))
        forget_claims()
        ok = is_alive(claim) and inherited and not is_alive(Owner(os.getpid(), claim.instance))
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert is_alive(claim)
