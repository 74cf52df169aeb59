import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
AGENT_PATH = os.path.join(os.path.dirname(os.path.dirname(HERE)), "roles", "mirror_agent", "files")
for path in (AGENT_PATH, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)


# Every test that runs the agent in a kernel runs once per data path: a test
# asks for ``datapath`` through its lab (netlab.Agent writes it into each config).
DATAPATHS = ("nftables", "ebpf")


@pytest.fixture(scope="module", params=DATAPATHS)
def datapath(request):
    return request.param


def pytest_configure(config):
    config.addinivalue_line("markers", "netns: needs root and network namespaces")
