"""The agent's state directory: the lock one agent at a time holds, and the last applied config."""

import contextlib
import fcntl
import json
import os

STATE_DIR_ENV = "TMA_STATE_DIR"
DEFAULT_STATE_DIR = "/run/traffic_mirror_agent"


def state_dir():
    return os.environ.get(STATE_DIR_ENV, DEFAULT_STATE_DIR)


def _path():
    return os.path.join(state_dir(), "applied.json")


@contextlib.contextmanager
def exclusive(directory=None):
    """One agent at a time changes the kernel: a lock file in the state directory (``directory``: another
    agent's, for a test that must keep that agent from changing the kernel meanwhile)."""
    directory = directory or state_dir()
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_state(config):
    os.makedirs(state_dir(), exist_ok=True)
    tmp = _path() + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(config.to_dict(), handle, indent=1, sort_keys=True)
    os.replace(tmp, _path())


def load_state():
    try:
        with open(_path()) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def clear_state():
    """Forget the applied config, and what nft made of it (host.EXPECTED_FILE, a cache)."""
    for path in (_path(), os.path.join(state_dir(), "nft-expected.json")):
        try:
            os.unlink(path)
        except OSError:
            pass
