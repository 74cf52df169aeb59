"""The collection's docsite builds with antsibull-docs and Sphinx (warnings are errors), with a page for
every module, and `antsibull-docs lint-collection-docs --plugin-docs` passes (build_docsite.py)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULES = sorted(p.stem for p in (HERE.parents[1] / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def test_docsite_builds_and_docs_lint_clean(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(HERE / "build_docsite.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-10000:] + completed.stderr[-5000:]
    pages = tmp_path / "site" / "build" / "html" / "collections" / "netmirror" / "traffic_mirror"
    for module in MODULES:
        page = (pages / (module + "_module.html")).read_text()
        assert module in page
