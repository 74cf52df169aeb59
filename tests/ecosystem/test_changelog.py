"""The changelog: fragments pass `antsibull-changelog lint`, each belongs to a release in
changelogs/changelog.yaml, and CHANGELOG.rst is what changelog.yaml renders to (no stale copy)."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHANGELOG = Path(sys.executable).parent / "antsibull-changelog"


def antsibull_changelog(*arguments):
    env = dict(os.environ, PATH=os.pathsep.join([str(CHANGELOG.parent), os.environ["PATH"]]))
    completed = subprocess.run(
        [str(CHANGELOG)] + list(arguments), cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def test_fragments_and_changelog_yaml_lint_clean():
    assert antsibull_changelog("lint").strip() == ""
    assert antsibull_changelog("lint-changelog-yaml", "changelogs/changelog.yaml").strip() == ""


def test_every_fragment_is_in_a_release():
    releases = yaml.safe_load((REPO / "changelogs" / "changelog.yaml").read_text())["releases"]
    recorded = {fragment for release in releases.values() for fragment in release.get("fragments", [])}
    fragments = {p.name for p in (REPO / "changelogs" / "fragments").iterdir() if p.suffix in (".yml", ".yaml")}
    missing = sorted(fragments - recorded)
    assert not missing, "fragments in no release (see changelogs/README.md): {0}".format(missing)


def test_changelog_rst_is_rendered_from_changelog_yaml(tmp_path):
    rendered = tmp_path / "CHANGELOG.rst"
    antsibull_changelog("generate", "--output", str(rendered), "--output-format", "rst")
    assert rendered.read_text() == (REPO / "CHANGELOG.rst").read_text(), "run: antsibull-changelog generate"
    assert "ec2_traffic_mirror_session" in rendered.read_text()
