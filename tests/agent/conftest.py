import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_PATH = os.path.join(os.path.dirname(os.path.dirname(HERE)), "roles", "mirror_agent", "files")
for path in (AGENT_PATH, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root (network namespaces); CI runs these as root")
    for item in items:
        if "netns" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "netns: needs root and network namespaces")
