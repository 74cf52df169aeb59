"""`make demo` as a newcomer runs it (as root: with the agent lab). It succeeds, shows the DryRun
calls of its check-mode step from the endpoint's request log, raises no offload warning about its
own lab, and leaves no temporary directory behind."""

import glob
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_demo_runs_cleanly_and_shows_its_dry_run_calls():
    pattern = str(Path(tempfile.gettempdir()) / "netmirror-demo-*")
    before = set(glob.glob(pattern))
    completed = subprocess.run(
        [sys.executable, str(REPO / "demo" / "run_demo.py")], capture_output=True, text=True, timeout=600, check=False
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "The audit sent 3 requests, 2 of them with DryRun=true:" in output, output[-4000:]
    assert "ModifyTrafficMirrorSession (DryRun=true: DryRunOperation)" in output
    assert "10 datagrams to UDP 5001: 10 copies at the collector" in output
    assert "10 datagrams to UDP 5002: 0 copies at the collector" in output
    assert "gso/tso on" not in output, "the lab's own interface raised the offload warning"
    assert set(glob.glob(pattern)) == before, "the demo left a temporary directory behind"
