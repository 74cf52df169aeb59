"""The eBPF data path under a systemd service's default locked-memory limit (64 KiB).

Kernels before 5.11 (Debian 11, Amazon Linux 2) charge eBPF programs and maps to RLIMIT_MEMLOCK and
refuse them with EPERM past it; later kernels charge the memory cgroup and this passes either way. So this
test fails where it matters, in the kernel matrix's 5.10 guest: found there, where the role's agent (a
service, 64 KiB) mirrored nothing while the same agent run from an SSH shell (a larger limit) did.
"""

import subprocess

import pytest
from netlab import kernel_snapshot
from test_agent_ebpf import config

pytestmark = pytest.mark.netns

SERVICE_MEMLOCK = 64 * 1024  # systemd's default LimitMEMLOCK before v253 (Debian 11 and 12)


@pytest.fixture(scope="module")
def datapath():
    return "ebpf"


def test_ebpf_apply_works_under_a_service_s_default_locked_memory_limit(lab, agent):
    command = agent.command("apply", "--config", agent.write_config(config()))
    # after "ip netns exec <ns>": the agent runs with soft and hard limit at 64 KiB, as under systemd
    command[4:4] = ["prlimit", "--memlock=%d:%d" % (SERVICE_MEMLOCK, SERVICE_MEMLOCK)]
    proc = subprocess.run(command, capture_output=True, text=True, env=agent.env(), check=False)
    assert proc.returncode == 0 and proc.stdout.strip() == "changed", proc.stderr
    filters = kernel_snapshot(lab, "src")["filters"]
    assert "name tma_" in filters["eth0 ingress"], filters
