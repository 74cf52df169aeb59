"""The role installs the agent as one zip made on the controller by roles/mirror_agent/files/pack_agent.py.

The zip must be the same bytes from any checkout (or the role's copy would report a change, and restart the
agent, on every run from a fresh clone or another controller), and must run the agent from nothing else.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from netns_lab import AGENT_PACKAGE
from netns_lab import AGENT_PATH

FILES = Path(AGENT_PATH)
PACKAGE = Path(AGENT_PACKAGE)
PACKER = FILES / "pack_agent.py"


def pack(source, output):
    subprocess.run([sys.executable, str(PACKER), str(source), str(output)], check=True, timeout=60)
    return output.read_bytes()


def test_the_same_sources_give_the_same_bytes_whatever_their_timestamps(tmp_path):
    first = pack(PACKAGE, tmp_path / "first.zip")
    copy = tmp_path / "elsewhere" / "traffic_mirror_agent"
    shutil.copytree(PACKAGE, copy)  # follows rules.py's link, as a Galaxy build does
    for path in copy.iterdir():
        os.utime(path, (1_600_000_000, 1_600_000_000))
    assert pack(copy, tmp_path / "second.zip") == first
    (copy / "config.py").write_text((copy / "config.py").read_text() + "\n# changed\n")
    assert pack(copy, tmp_path / "third.zip") != first


def test_the_zip_runs_the_agent_and_holds_runtime_code_only(tmp_path):
    archive = tmp_path / "traffic_mirror_agent.zip"
    pack(PACKAGE, archive)
    names = set(zipfile.ZipFile(archive).namelist())
    sources = {"traffic_mirror_agent/" + p.name for p in PACKAGE.glob("*.py")}
    assert names == sources
    assert all(info.external_attr >> 16 == 0o100600 for info in zipfile.ZipFile(archive).infolist())
    config = tmp_path / "config.json"
    config.write_text('{"sessions": []}\n')
    env = dict(os.environ, PYTHONPATH=str(archive))
    completed = subprocess.run(
        [sys.executable, "-m", "traffic_mirror_agent", "check", "--config-only", "--config", str(config)],
        cwd=tmp_path,  # nothing of the checkout on the path: only the zip
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (
        str(archive)
        in subprocess.run(
            [sys.executable, "-c", "import traffic_mirror_agent; print(traffic_mirror_agent.__file__)"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
