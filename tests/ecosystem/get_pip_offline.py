"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com (not reachable
from our CI) to put pip into the empty virtual environments of `ansible-test sanity --venv`.

ansible-test runs it, like get-pip.py, with pip install options and the packages (pip==24.2) as arguments.
It installs them with the pip wheel saved next to it, which pip can run from directly.
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    wheels = glob.glob(os.path.join(HERE, "pip-*-py3-none-any.whl"))
    if not wheels:
        sys.exit("no pip wheel next to " + __file__)
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main as pip_main

    # get-pip.py's own options: it would install setuptools and wheel unless told not to; we never do.
    arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + arguments))


if __name__ == "__main__":
    main()
