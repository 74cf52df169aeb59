"""What every benchmark shares: its command line, the machine it ran on, where
results go, and bar charts a person can read at a glance.

Each benchmark is ``benchmarks/<name>.py`` with ``main(argv=None)`` and
``render_markdown(result) -> str``. It writes ``<out>/<name>.json`` (and its
PNG plots beside it); ``benchmarks/report.py`` turns every JSON file into
docs/performance.md. ``--quick`` is the smoke run CI uses: same code paths,
tiny sizes, figures that mean nothing.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(ROOT, "docs", "performance")
# harness/: the namespace lab (netns_lab: mirror_lab(), the agent in a namespace) and the AWS lab (aws_lab),
# shared with the tests and the demo; the offline EC2 endpoint in tools/
sys.path.insert(0, os.path.join(ROOT, "harness"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from netns_lab import AGENT_PACKAGE  # noqa: E402,F401 - after harness/ is importable; the benchmarks use it
from netns_lab import AGENT_PATH  # noqa: E402

sys.path.insert(0, AGENT_PATH)


def parser(description):
    args = argparse.ArgumentParser(description=description)
    args.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, proves the script works")
    args.add_argument("--out", default=DEFAULT_OUT, help="directory for <name>.json and plots (default: %(default)s)")
    return args


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib():
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(command):
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else None


def machine():
    """Where and when a figure was taken."""
    return {
        "taken": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "iperf3": _version(["iperf3", "--version"]),
    }


def write_result(out_dir, name, result, quick=False):
    """Write ``<out_dir>/<name>.json`` with the machine facts added; returns the path."""
    os.makedirs(out_dir, exist_ok=True)
    data = dict(result)
    data["benchmark"] = name
    data["machine"] = machine()
    data["quick"] = bool(quick)
    path = os.path.join(out_dir, name + ".json")
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
    return path


def agent_source_digest():
    """A digest of the agent's source: which code the figures are of (the package is edited as we measure)."""
    return _digest_of([AGENT_PACKAGE])


def module_source_digest():
    """A digest of the collection's plugin sources (modules, module_utils, action plugins) and the offline
    endpoint the module figures are measured against."""
    return _digest_of([os.path.join(ROOT, "plugins"), os.path.join(ROOT, "tools", "offline_ec2")])


def _digest_of(directories):
    digest = hashlib.sha256()
    for directory in directories:
        for base, dirs, files in sorted(os.walk(directory)):
            dirs.sort()
            for name in sorted(n for n in files if n.endswith(".py")):
                path = os.path.join(base, name)
                with open(path, "rb") as handle:
                    digest.update(os.path.relpath(path, ROOT).encode() + b"\0" + handle.read())
    return digest.hexdigest()[:16]


# which source each benchmark's figures are of, by the key its result records the digest under
SOURCE_DIGESTS = {"agent_source_digest": agent_source_digest, "module_source_digest": module_source_digest}


def staleness(result):
    """Why a result's figures no longer describe the code here ([] when they do)."""
    recorded = [key for key in SOURCE_DIGESTS if key in result]
    if not recorded:
        return ["the result records no source digest (it predates them), so it cannot be tied to this code"]
    problems = []
    for key in recorded:
        now = SOURCE_DIGESTS[key]()
        if result[key] != now:
            what = key.replace("_source_digest", "")
            problems.append("measured on %s source %s; the %s is now %s" % (what, result[key], what, now))
    return problems


def publish(out_dir, name, result, quick, render_markdown):
    """Write the result, print its Markdown section (as docs/performance.md will show it); returns the path."""
    path = write_result(out_dir, name, result, quick=quick)
    print(render_markdown(read_result(out_dir, name)))
    print("wrote %s" % path, file=sys.stderr)
    return path


def read_result(out_dir, name):
    with open(os.path.join(out_dir, name + ".json")) as handle:
        return json.load(handle)


def machine_line(result):
    """One sentence for docs/performance.md: on what machine and when."""
    m = result["machine"]
    recorded = [k for k in SOURCE_DIGESTS if k in result]
    digests = ", ".join("%s source %s" % (k.replace("_source_digest", ""), result[k]) for k in recorded)
    return "Taken %s on %s (%s cores, %s GiB, kernel %s)%s%s." % (
        m["taken"],
        m["cpu"],
        m["cores"],
        m["memory_gib"],
        m["kernel"],
        ", of %s" % digests if digests else "",
        " — QUICK SMOKE RUN, the figures mean nothing" if result.get("quick") else "",
    )


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def bar_chart(path, title, labels, series, ylabel, goals=None, horizontal_lines=None):
    """Grouped bars: ``series`` maps a legend name to one value per label.
    ``goals`` maps a label to a goal value drawn as a short black tick over its
    group; ``horizontal_lines`` maps a text to a y value drawn across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(series)
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(labels) + 2), 4.2), dpi=110)
    for index, name in enumerate(names):
        xs = [i - 0.4 + width * (index + 0.5) for i in range(len(labels))]
        values = [v if v is not None else 0 for v in series[name]]
        bars = ax.bar(xs, values, width, label=name)
        for bar, value in zip(bars, series[name]):
            if value is not None:
                ax.annotate(
                    "%.2f" % value if value < 100 else "%.0f" % value,
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    for i, label in enumerate(labels):
        goal = (goals or {}).get(label)
        if goal is not None:
            ax.hlines(goal, i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1.2)
    for text, value in (horizontal_lines or {}).items():
        ax.axhline(value, color="grey", linestyle=":", linewidth=1)
        ax.annotate(text, (len(labels) - 0.5, value), ha="right", va="bottom", fontsize=7, color="grey")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if len(names) > 1:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
