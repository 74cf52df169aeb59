"""Place a copy of the checkout at <root>/ansible_collections/netmirror/traffic_mirror, the layout
ansible-test and antsibull-docs need, next to the amazon.aws that the venv's `ansible` package bundles.

Copies the files git would commit (tracked, plus untracked ones .gitignore does not exclude) that the
collection ships: galaxy.yml's build_ignore leaves out what is not collection content (tools/, harness/, the
offline endpoint's suite), as `ansible-galaxy collection build` does.
"""

import fnmatch
import shutil
import subprocess
import sysconfig
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
NAMESPACE, NAME = "netmirror", "traffic_mirror"
BUNDLED_COLLECTIONS = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections"


def checkout_files():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    # A tracked file deleted in the working tree is still listed by --cached.
    return [p for p in listed.split("\0") if p and ((REPO / p).is_file() or (REPO / p).is_symlink())]


def build_ignored(path, patterns):
    """Whether `ansible-galaxy collection build` leaves the path out: it, or a directory above it, matches."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)


def collection_files():
    patterns = yaml.safe_load((REPO / "galaxy.yml").read_text()).get("build_ignore") or []
    return [path for path in checkout_files() if not build_ignored(path, patterns)]


def place_collection(root):
    """Copy the collection under `root`; returns the collection's directory."""
    root = Path(root)
    collection = root / "ansible_collections" / NAMESPACE / NAME
    for path in collection_files():
        destination = collection / path
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, destination, follow_symlinks=False)  # symlinks stay symlinks, as in the tarball
    # The dependency, where ansible-test and the collection loader look for it: the same tree. A copy, not
    # a symlink: antsibull-docs copies dependencies with `git ls-files` when they sit in a git work tree,
    # and the venv (in the checkout, git-ignored) would yield an empty amazon.aws.
    shutil.copytree(
        BUNDLED_COLLECTIONS / "amazon" / "aws",
        root / "ansible_collections" / "amazon" / "aws",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return collection
