"""How the tests run a command: its output captured as text, a timeout, and no exception on a non-zero exit, so
that the test asserts on the exit status and shows the output."""

import subprocess


def run(command, timeout, **kwargs):
    """subprocess.run(command) with stdout and stderr captured as text; kwargs: cwd, env, input."""
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
