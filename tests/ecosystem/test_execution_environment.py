"""An execution environment with this collection: `ansible-builder create` makes the build context, and the
dependency introspection the image build runs merges this collection's requirements.txt and bindep.txt
(meta/execution-environment.yml) with amazon.aws's and the EE definition's own."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AMAZON_AWS = Path(sysconfig.get_paths()["purelib"]) / "ansible_collections" / "amazon" / "aws"


def definition_with(tarball):
    """docs/awx/execution-environment.yml, with this checkout's tarball instead of Galaxy's release."""
    definition = yaml.safe_load((REPO / "docs" / "awx" / "execution-environment.yml").read_text())
    collections = definition["dependencies"]["galaxy"]["collections"]
    collections[:] = [c for c in collections if c["name"] != "netmirror.traffic_mirror"]
    collections.append({"name": "collections/" + tarball.name, "type": "file"})
    definition["additional_build_files"] = [{"src": str(tarball), "dest": "collections"}]
    definition["dependencies"]["python"] = ["awscli"]
    definition["dependencies"]["system"] = ["jq [platform:rpm]"]
    return definition


def test_builder_context_and_merged_requirements(collection_tarball, tmp_path):
    definition = tmp_path / "execution-environment.yml"
    definition.write_text(yaml.safe_dump(definition_with(collection_tarball)))
    context = tmp_path / "context"
    subprocess.run(
        [
            str(BIN / "ansible-builder"),
            "create",
            "-f",
            str(definition),
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=tmp_path,
    )
    build = context / "_build"
    assert (context / "Containerfile").is_file()
    assert (build / "collections" / collection_tarball.name).is_file()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    assert {"name": "collections/" + collection_tarball.name, "type": "file"} in galaxy
    assert "introspect.py introspect" in (context / "Containerfile").read_text()

    # What the image build does after installing the collections (Containerfile's introspect step).
    installed = tmp_path / "installed"
    subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--no-deps",
            "-p",
            str(installed),
            str(collection_tarball),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)),
    )
    shutil.copytree(AMAZON_AWS, installed / "ansible_collections" / "amazon" / "aws")
    subprocess.run(
        [
            sys.executable,
            str(build / "scripts" / "introspect.py"),
            "introspect",
            "--user-pip",
            str(build / "requirements.txt"),
            "--user-bindep",
            str(build / "bindep.txt"),
            "--write-pip",
            str(tmp_path / "pip.txt"),
            "--write-bindep",
            str(tmp_path / "bindep.txt"),
            str(installed),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pip = (tmp_path / "pip.txt").read_text().splitlines()
    bindep = (tmp_path / "bindep.txt").read_text().splitlines()
    ours = "  # from collection netmirror.traffic_mirror"
    for requirement in (REPO / "requirements.txt").read_text().splitlines():
        if requirement.strip() and not requirement.startswith("#"):
            assert requirement + ours in pip
    for package in (REPO / "bindep.txt").read_text().splitlines():
        if package.strip() and not package.startswith("#"):
            assert package + ours in bindep
    assert any(line.endswith("# from collection amazon.aws") for line in pip)
    assert "awscli  # from collection user" in pip and "jq [platform:rpm]  # from collection user" in bindep
