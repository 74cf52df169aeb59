"""docs/agent.md's kernel support table is the one tests/vm/kernel_support.py makes from the published
kernel matrix (docs/kernels/kernel-matrix.json): neither is edited by hand."""

import json

import kernel_support


def test_the_published_table_is_made_from_the_published_matrix():
    rows = json.loads(kernel_support.PUBLISHED.read_text())
    doc = kernel_support.DOC.read_text()
    assert kernel_support.section(doc, rows) == doc, "run: python3 tests/vm/kernel_support.py"


def test_every_published_kernel_was_tested_on_every_data_path_it_can_run():
    rows = json.loads(kernel_support.PUBLISHED.read_text())
    assert {row["distro"] for row in rows} >= {"debian-11", "debian-12", "debian-13"}
    for row in rows:
        assert "ebpf" in row["datapaths_tested"], row["distro"]
        assert row["passed"] > 0, row["distro"]


def test_datapath_of_reads_the_parameter_ids():
    assert kernel_support.datapath_of("test_a[ebpf]") == "ebpf"
    assert kernel_support.datapath_of("test_b[nftables-4]") == "nftables"
    assert kernel_support.datapath_of("test_c[ebpf-auto]") == "ebpf"
    assert kernel_support.datapath_of("test_f[4-nftables]") == "nftables"
    assert kernel_support.datapath_of("test_d[4]") is None
    assert kernel_support.datapath_of("test_e") is None
