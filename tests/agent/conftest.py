import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # reference.py and netlab.py; tests/conftest.py put the agent package on it
    sys.path.insert(0, HERE)


# Every test that runs the agent in a kernel runs once per data path: a test
# asks for ``datapath`` through its lab (netlab.Agent writes it into each config).
# TMA_DATAPATHS narrows them: the kernel matrix sets it to the data paths a guest's
# kernel can run (on Linux < 5.16 the nftables one cannot mirror egress, which
# test_check_asks_only_what_the_data_path_needs proves there by its refusal).
DATAPATHS = tuple(os.environ.get("TMA_DATAPATHS", "nftables,ebpf").split(","))


@pytest.fixture(scope="module", params=DATAPATHS)
def datapath(request):
    return request.param


@pytest.fixture
def lab(datapath):
    """netlab.topology()'s source, peer and collector namespaces, for the test's data path; removed after."""
    from netlab import Lab
    from netlab import topology

    lab = Lab(datapath)
    try:
        topology(lab)
        yield lab
    finally:
        lab.close()


@pytest.fixture
def agent(lab, tmp_path):
    """The agent CLI on the lab's src host, with its own state directory."""
    from netlab import Agent

    return Agent(lab, "src", tmp_path)


def pytest_configure(config):
    config.addinivalue_line("markers", "netns: needs root and network namespaces")
