"""Packs the agent into one zip that Python imports from, on the controller (the role runs it there).

    python3 pack_agent.py SOURCE_DIR OUTPUT_ZIP

Why one file: the role sends each host this file instead of one file per module (on a slow link or a slow
host, per-file copies were most of a run: 25 round trips each for the check and the install), and a host's
agent is replaced in one rename, never half old and half new. Python runs it from the zip
(PYTHONPATH=<zip> python3 -m traffic_mirror_agent). The bytes depend on the sources only (sorted names,
fixed timestamps and modes, stored uncompressed: deflate's output differs between zlib versions), so a
re-run from any controller copies nothing.
"""

import os
import sys
import zipfile

PACKAGE = "traffic_mirror_agent"


def pack(source, output):
    names = sorted(name for name in os.listdir(source) if name.endswith(".py"))
    partial = output + ".partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as archive:
        for name in names:
            with open(os.path.join(source, name), "rb") as handle:  # follows rules.py's link to module_utils
                data = handle.read()
            member = zipfile.ZipInfo(PACKAGE + "/" + name, date_time=(1980, 1, 1, 0, 0, 0))
            member.create_system = 3  # Unix, whatever the controller
            member.external_attr = 0o100600 << 16
            archive.writestr(member, data)
    os.replace(partial, output)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pack_agent.py SOURCE_DIR OUTPUT_ZIP")
    pack(sys.argv[1], sys.argv[2])
