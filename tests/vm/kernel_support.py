"""docs/agent.md's kernel support table, made from a kernel matrix (build/kernel-matrix.json, copied
to docs/kernels/kernel-matrix.json when published): for each kernel and data path, whether ingress,
egress and truncated copies work there, as the guest's tests showed.

    python3 tests/vm/kernel_support.py            # rewrite the table in docs/agent.md
    python3 tests/vm/kernel_support.py --publish  # copy build/kernel-matrix.json to docs/ first
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = REPO / "docs" / "kernels" / "kernel-matrix.json"
BUILT = REPO / "build" / "kernel-matrix.json"
DOC = REPO / "docs" / "agent.md"
START, END = "<!-- kernel-support:start -->", "<!-- kernel-support:end -->"
DATAPATHS = ("ebpf", "nftables")


def datapath_of(test_name):
    """The data path a test ran for, from its parameter id (test[ebpf], test[4-ebpf]), or None."""
    if "[" not in test_name:
        return None
    parts = test_name.split("[", 1)[1].rstrip("]").split("-")
    found = [part for part in parts if part in DATAPATHS]
    return found[0] if found else None


def support_rows(rows):
    table = []
    for row in rows:
        failed = sorted({failure.split(":", 1)[0] for failure in row.get("failures", [])})
        for datapath in DATAPATHS:
            if datapath in row.get("datapaths_tested", []):
                cells = ["tested", "tested", "tested"]
                evidence = "the guest's kernel tests (both data paths): %d passed, %d failed%s" % (
                    row["passed"],
                    row["failed"],
                    (": " + ", ".join("`%s`" % name for name in failed)) if failed else "",
                )
            else:
                missing = (row.get("missing_features") or {}).get(datapath) or []
                cells = ["refused", "refused", "refused"]
                evidence = "the agent refuses it at `check` and `apply`: lacks " + "; ".join(missing)
            chosen = " (auto)" if row.get("datapath") == datapath else ""
            table.append([row["distro"], row["kernel"], datapath + chosen] + cells + [evidence])
    return table


def render(rows):
    header = ["image", "kernel", "data path", "ingress", "egress", "truncation", "shown by"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in line) + " |" for line in support_rows(rows)]
    roles = ", ".join("%s: %s" % (row["distro"], row["role"].split(" (see")[0]) for row in rows)
    lines += ["", "The role applied by molecule to these VMs (`extensions/molecule/kernels`): %s." % roles]
    return "\n".join(lines)


def section(doc_text, rows):
    """``doc_text`` with the table between the markers replaced."""
    before, rest = doc_text.split(START, 1)
    _old, after = rest.split(END, 1)
    return before + START + "\n" + render(rows) + "\n" + END + after


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publish", action="store_true", help="copy build/kernel-matrix.json to docs/ first")
    args = parser.parse_args(argv)
    if args.publish:
        PUBLISHED.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BUILT, PUBLISHED)
    rows = json.loads(PUBLISHED.read_text())
    DOC.write_text(section(DOC.read_text(), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
