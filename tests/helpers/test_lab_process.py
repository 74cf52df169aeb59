"""The labs' shared process handling, on real processes: a supervised process group is stopped by SIGTERM, one
that ignores SIGTERM is killed after the grace period, and its pid file goes; a reboot is seen as a new boot id."""

import os
import subprocess
import sys
import time

import pytest

from helpers.lab_process import lab_command
from helpers.lab_process import stop_supervised
from helpers.lab_process import wait_for_new_boot

IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(9)"


def supervised(labdir, name, code):
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)
    process.stdout.readline()  # started (and, for IGNORES_SIGTERM, ignoring SIGTERM)
    (labdir / (name + ".pid")).write_text(str(process.pid))
    return process


def test_stop_supervised_terminates_kills_and_forgets(tmp_path):
    polite = supervised(tmp_path, "polite", "import time; print(flush=True); time.sleep(9)")
    stubborn = supervised(tmp_path, "stubborn", IGNORES_SIGTERM)
    started = time.monotonic()
    stop_supervised(tmp_path, grace_seconds=1)
    assert polite.wait(timeout=5) == -15  # SIGTERM
    assert stubborn.wait(timeout=5) == -9  # SIGKILL, after the grace period
    assert 1 <= time.monotonic() - started < 10
    assert list(tmp_path.glob("*.pid")) == []
    for pgid in (polite.pid, stubborn.pid):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError("process group %d still there" % pgid)


def test_stop_supervised_with_a_process_already_gone(tmp_path):
    gone = supervised(tmp_path, "gone", "print(flush=True)")
    gone.wait(timeout=5)
    stop_supervised(tmp_path, grace_seconds=1)
    assert list(tmp_path.glob("*.pid")) == []


def test_wait_for_new_boot_waits_out_timeouts_and_the_old_id():
    answers = iter([subprocess.TimeoutExpired("ssh", 10), "", "old", "new"])

    def read():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert wait_for_new_boot(read, "old", deadline=5, poll=0.01) == "new"
    assert wait_for_new_boot(lambda: "old", "old", deadline=0.1, poll=0.02) is None


def test_lab_command_calls_the_step_asked_for_and_refuses_the_rest(tmp_path):
    calls = []

    def record(step):
        return lambda *args: calls.append((step,) + args)

    steps = dict(up=record("up"), reboot=record("reboot"), down=record("down"))
    lab_command(["lab.py", "up", str(tmp_path), "source", "collector"], "lab.py", **steps)
    lab_command(["lab.py", "reboot", str(tmp_path), "source"], "lab.py", **steps)
    lab_command(["lab.py", "down", str(tmp_path)], "lab.py", **steps)
    assert calls == [("up", tmp_path, ["source", "collector"]), ("reboot", tmp_path, "source"), ("down", tmp_path)]
    for wrong in (["lab.py"], ["lab.py", "halt", str(tmp_path)], ["lab.py", "reboot", str(tmp_path)]):
        with pytest.raises(SystemExit, match=r"usage: lab.py up\|reboot\|down LABDIR"):
            lab_command(wrong, "lab.py", **steps)
    assert len(calls) == 3
