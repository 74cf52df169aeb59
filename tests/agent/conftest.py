import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_PATH = os.path.join(os.path.dirname(os.path.dirname(HERE)), "roles", "mirror_agent", "files")
for path in (AGENT_PATH, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)


def pytest_configure(config):
    config.addinivalue_line("markers", "netns: needs root and network namespaces")
