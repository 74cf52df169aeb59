"""Write docs/performance.md from the results every benchmark left in
docs/performance/ (``<name>.json``). Run by ``make bench`` after the
benchmarks; run it alone to re-render without measuring again.

    .venv/bin/python benchmarks/report.py [--out docs/performance] [--doc docs/performance.md]
"""

import argparse
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

# in the order they appear in the document
BENCHMARKS = ("agent_dataplane", "agent_control_plane", "agent_soak", "modules_bench")

INTRO = """# Performance

What mirroring costs and what reaches the appliance, measured by the scripts
in `benchmarks/` (`make bench` runs them all, as root, and rewrites this page
and the figures in `docs/performance/`; each section says on what machine and
when its figures were taken). Every figure is a ratio or count measured side
by side in one run, never a timing assertion: these machines are shared and
noisy, so compare rows of one table, not tables of different days. CI runs each
script once with `--quick` (tests/benchmarks/) to prove it still works; those
figures are not kept.

Contents:
"""


def stale_marked(name, text, problems):
    """A section with a stale mark under its title when its figures are not of this code."""
    if not problems:
        return text
    title, rest = text.strip().split("\n", 1)
    mark = "> **Stale figures:** %s. Re-run `benchmarks/%s.py` (as root) to measure this code." % (
        "; ".join(problems),
        name,
    )
    return "%s\n\n%s\n%s" % (title, mark, rest)


def render(out_dir):
    sections, missing = [], []
    for name in BENCHMARKS:
        path = os.path.join(out_dir, name + ".json")
        if not os.path.exists(path):
            missing.append(name)
            continue
        module = importlib.import_module(name)
        result = common.read_result(out_dir, name)
        sections.append((name, stale_marked(name, module.render_markdown(result), common.staleness(result))))
    lines = [INTRO]
    for name, text in sections:
        title = text.strip().splitlines()[0].lstrip("#").strip()
        anchor = "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")
        lines.append("- [%s](#%s) (`benchmarks/%s.py`)" % (title, anchor, name))
    for name in missing:
        lines.append("- `benchmarks/%s.py`: no results yet (run `make bench`)" % name)
    lines.append("")
    for _name, text in sections:
        lines.append(text.strip())
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--out", default=common.DEFAULT_OUT, help="where the results are (default: %(default)s)")
    args.add_argument("--doc", default=os.path.join(common.ROOT, "docs", "performance.md"))
    opts = args.parse_args(argv)
    text = render(opts.out)
    with open(opts.doc, "w") as handle:
        handle.write(text)
    print("wrote %s" % opts.doc)


if __name__ == "__main__":
    main()
