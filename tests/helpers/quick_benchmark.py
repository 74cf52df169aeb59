"""A benchmark's `--quick` run for its smoke test (tests/benchmarks/): run once per test module, in a fresh
directory, and the checks every benchmark's result passes."""

import json

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def quick_run_fixture(benchmark, *arguments):
    """A module-scoped fixture ``quick_run``: (out directory, result) of ``benchmark.main(--quick ...)``."""
    name = benchmark.__name__

    @pytest.fixture(scope="module")
    def quick_run(tmp_path_factory):
        out = tmp_path_factory.mktemp(name)
        benchmark.main(["--quick", "--out", str(out), *arguments])
        return out, json.loads((out / (name + ".json")).read_text())

    return quick_run


def assert_names_benchmark_and_machine(result, name):
    assert result["benchmark"] == name
    assert result["quick"] is True
    assert result["machine"]["cores"] >= 1


def assert_markdown_links_its_plots(text, out, heading, *images):
    """The section starts with ``heading``, says it is a smoke run and links each plot, which is a PNG."""
    assert text.startswith(heading)
    assert "QUICK SMOKE RUN" in text
    for image in images:
        assert "](performance/%s)" % image in text
        assert (out / image).read_bytes().startswith(PNG_MAGIC)
