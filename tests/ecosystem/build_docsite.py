#!/usr/bin/env python
"""Build the collection's docsite with antsibull-docs and Sphinx (warnings are errors), and lint the
collection's docs with `antsibull-docs lint-collection-docs --plugin-docs`.

    .venv/bin/python tests/ecosystem/build_docsite.py [DEST]     # DEST/site/build/html/index.html

Offline: the docs link to labels in Ansible's own docsite, which Sphinx resolves through the
intersphinx inventory of docs.ansible.com. We write that inventory ourselves, with only the labels
antsibull-docs' templates use, so any other unresolved reference still fails the build.
"""

import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from collection_tree import place_collection

BIN = Path(sys.executable).parent
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
# label -> (page and anchor, title): what antsibull-docs' templates refer to in Ansible's docsite.
ANSIBLE_LABELS = {
    "action_plugins": ("plugins/action.html#action-plugins", "Action Plugins"),
    "common_return_values": ("reference_appendices/common_return_values.html#common-return-values", "Return Values"),
    "ansible_configuration_settings": (
        "reference_appendices/config.html#ansible-configuration-settings",
        "Ansible Configuration Settings",
    ),
}
OFFLINE_INTERSPHINX = """
# Offline build (tests/ecosystem/build_docsite.py): Ansible's labels from a local inventory, nothing else.
intersphinx_mapping = {{'ansible_devel': ({url!r}, {inventory!r})}}
"""


def write_inventory(path):
    lines = "".join(
        "{0} std:label -1 {1} {2}\n".format(label, page, title) for label, (page, title) in ANSIBLE_LABELS.items()
    )
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
    header += "# The remainder of this file is compressed using zlib.\n"
    path.write_bytes(header.encode() + zlib.compress(lines.encode()))


def run(command, cwd, env):
    status = subprocess.run(command, cwd=cwd, env=env, check=False).returncode
    if status:
        print("FAILED ({0}): {1}".format(status, " ".join(command)), file=sys.stderr)
    return status


def build(dest):
    """Returns the first failing command's exit status, or 0."""
    dest = Path(dest).resolve()
    root = dest / "collections"
    collection = place_collection(root)
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(BIN), os.environ["PATH"]]),
        ANSIBLE_COLLECTIONS_PATH=str(root),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",  # only the copies, not the venv's collections
    )
    site = dest / "site"
    site.mkdir(mode=0o755)  # sphinx-init wants it writable by its owner only
    init = ["antsibull-docs", "sphinx-init", "--use-current", "--dest-dir", str(site), "netmirror.traffic_mirror"]
    status = run(init, dest, env)
    if status:
        return status
    write_inventory(dest / "ansible_devel.inv")
    with open(site / "conf.py", "a") as conf:
        conf.write(OFFLINE_INTERSPHINX.format(url=ANSIBLE_DOCS, inventory=str(dest / "ansible_devel.inv")))
    return run(["bash", str(site / "build.sh")], site, env) or run(
        ["antsibull-docs", "lint-collection-docs", "--plugin-docs", "."], collection, env
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(build(sys.argv[1]))
    with tempfile.TemporaryDirectory(prefix="netmirror-docsite-") as temporary:
        sys.exit(build(temporary))
