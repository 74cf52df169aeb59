"""Soak of the software mirroring agent's service mode: does its memory stay
flat over minutes of traffic while it reconciles, reloads and follows links?

peer -> src -> collector in network namespaces. The agent runs as `run` with a
1 s poll interval (a full consistency check every second) and mirrors UDP to
src port 7777 to the collector. A bounded Python sender sends that UDP from
peer at a fixed rate for --minutes. Every few seconds the agent's RSS (VmRSS)
and CPU time are sampled from /proc; every churn interval the config is
reloaded with SIGHUP (alternating between two configs, so the nft table is
really replaced) or the mirrored interface goes down and up (rtnetlink events).
Copies delivered are counted by an nftables counter on the collector (VXLAN
with the session's VNI); copies expected by one on src's ingress (the
datagrams that reached the mirrored interface).

Needs root (network namespaces), iproute2, nftables and ethtool.
"""

import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

import netns_lab  # noqa: E402

NAME = "agent_soak"
from netns_lab import COLLECTOR  # noqa: E402
from netns_lab import SOURCE as SRC  # noqa: E402

PORT = 7777
MIRRORED_VNI = 501
POLL_INTERVAL = 1.0
FULL = {"minutes": 10.0, "rate_pps": 1000, "sample_every_s": 2.0, "churn_every_s": 20.0}
QUICK = {"minutes": 20 / 60.0, "rate_pps": 1000, "sample_every_s": 0.5, "churn_every_s": 3.0}
PAYLOAD = b"agent-soak " + b"x" * 100
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ lab and config


def counter_table(name, device, match):
    return (
        "table netdev %s {\n chain c {\n  type filter hook ingress device %s priority -10;\n  %s counter\n }\n}\n"
        % (name, device, match)
    )


def build_lab():
    lab = netns_lab.mirror_lab(ipv6=False)
    try:
        # what reached the mirrored interface, and the copies of it the collector got
        expected = "meta protocol ip udp dport %d" % PORT
        lab.run("src", "nft", "-f", "-", input_text=counter_table("soak_expected", "eth0", expected))
        copies = "meta protocol ip udp dport 4789 @th,96,24 %d" % MIRRORED_VNI
        lab.run("col", "nft", "-f", "-", input_text=counter_table("soak_copies", "eth0", copies))
        netns_lab.settle(lab, ("src", "peer", "col"), 0.1)
    except BaseException:
        lab.close()
        raise
    return lab


def rule(number, **fields):
    data = {"rule_number": number, "rule_action": "accept"}
    data.update({"source_cidr_block": "0.0.0.0/0", "destination_cidr_block": "0.0.0.0/0"})
    data.update(fields)
    return data


def soak_config(variant):
    """Session 'soak' mirrors the test traffic; session 'other' (10 rules per direction, none
    matching it) differs between the variants, so a reload really replaces the nft table."""
    other_rules = [
        rule(10 * (i + 1), protocol=6, destination_port_range={"from_port": 1000 + i + variant, "to_port": 2000})
        for i in range(10)
    ]
    return {
        "sessions": [
            {
                "name": "soak",
                "network_interface": "eth0",
                "session_number": 1,
                "virtual_network_id": MIRRORED_VNI,
                "packet_length": 64,
                "target": {"address": COLLECTOR},
                "filter": {
                    "ingress_rules": [
                        rule(10, protocol=17, destination_port_range={"from_port": PORT, "to_port": PORT}),
                    ]
                },
            },
            {
                "name": "other",
                "network_interface": "eth0",
                "session_number": 2,
                "virtual_network_id": 502,
                "target": {"address": COLLECTOR},
                "filter": {"ingress_rules": other_rules, "egress_rules": other_rules},
            },
        ]
    }


def counter_packets(lab, role, table):
    data = json.loads(lab.run(role, "nft", "-j", "list", "table", "netdev", table).stdout)
    for item in data["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                return expr["counter"]["packets"]
    return 0


# ------------------------------------------------------------------ traffic


class Sender(threading.Thread):
    """UDP from peer to src port 7777 at a fixed rate, in 10 ms bursts, until stopped."""

    def __init__(self, lab, rate_pps):
        super().__init__(daemon=True)
        self.per_tick = max(1, int(rate_pps / 100))
        self.stop_event = threading.Event()
        self.sent = 0
        self.errors = 0
        with netns_lab.in_netns(lab.ns("peer")):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with netns_lab.in_netns(lab.ns("src")):
            # bound and never read: no ICMP port unreachable, the kernel drops what overflows
            self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sink.bind((SRC, PORT))

    def run(self):
        next_tick = time.monotonic()
        while not self.stop_event.is_set():
            for _datagram in range(self.per_tick):
                try:
                    self.sock.sendto(PAYLOAD, (SRC, PORT))
                    self.sent += 1
                except OSError:
                    self.errors += 1
            next_tick += 0.01
            self.stop_event.wait(max(0.0, next_tick - time.monotonic()))

    def stop(self):
        self.stop_event.set()
        self.join(timeout=5)
        self.sock.close()
        self.sink.close()


# ------------------------------------------------------------------ sampling


def proc_sample(pid):
    """(VmRSS KiB, own CPU s, waited-for children's CPU s) of a process."""
    with open("/proc/%d/status" % pid) as handle:
        rss = [int(line.split()[1]) for line in handle if line.startswith("VmRSS:")][0]
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return rss, (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def least_squares_slope(xs, ys):
    n = len(xs)
    if n < 2:
        return 0.0
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread


class Churn(object):
    """Alternately: SIGHUP with the other config variant; the mirrored interface down for a second, then up."""

    def __init__(self, lab, agent, proc):
        self.lab, self.agent, self.proc = lab, agent, proc
        self.variant = 0
        self.count = 0
        self.events = []

    def next(self, elapsed):
        if self.count % 2 == 0:
            self.variant = 1 - self.variant
            self.agent.write_config(soak_config(self.variant))
            self.proc.send_signal(signal.SIGHUP)
            self.events.append({"t_s": elapsed, "what": "SIGHUP (config %d)" % self.variant})
        else:
            self.lab.run("src", "ip", "link", "set", "eth0", "down")
            time.sleep(1.0)
            self.lab.run("src", "ip", "link", "set", "eth0", "up")
            self.events.append({"t_s": elapsed, "what": "eth0 down/up"})
        self.count += 1


def wait_matching(agent, config, timeout=20.0):
    """Wait until `status --config` says the kernel matches ``config``; returns its last problems ([] = matches)."""
    path = os.path.join(agent.workdir, "expected.json")
    with open(path, "w") as handle:
        json.dump(config, handle)
    deadline = time.monotonic() + timeout
    while True:
        data = json.loads(agent("status", "--json", "--config", path).stdout)
        if data["matches"] or time.monotonic() > deadline:
            return data["problems"]
        time.sleep(0.2)


def soak(lab, agent, proc, settings):
    """Traffic, sampling and churn for the configured time; returns samples and events."""
    sender = Sender(lab, settings["rate_pps"])
    churn = Churn(lab, agent, proc)
    samples = []
    start = time.monotonic()
    duration = settings["minutes"] * 60.0
    next_churn = settings["churn_every_s"]
    sender.start()
    try:
        while True:
            elapsed = time.monotonic() - start
            if proc.poll() is not None:
                raise RuntimeError("the agent exited during the soak (%s)" % proc.returncode)
            rss, cpu, children_cpu = proc_sample(proc.pid)
            samples.append({"t_s": elapsed, "rss_kib": rss, "cpu_s": cpu, "children_cpu_s": children_cpu})
            if elapsed >= duration:
                break
            if elapsed >= next_churn:
                churn.next(elapsed)
                next_churn += settings["churn_every_s"]
            time.sleep(max(0.0, min(settings["sample_every_s"], duration - elapsed)))
    finally:
        sender.stop()
    traffic = {"sent": sender.sent, "send_errors": sender.errors}
    return samples, churn.events, traffic, soak_config(churn.variant)


def run_soak(settings, workdir):
    lab = build_lab()
    proc = None
    try:
        agent = netns_lab.Agent(lab, "src", workdir)
        agent.write_config(soak_config(0))
        proc = agent.popen("run", "--config", agent.config_path, "--poll-interval", str(POLL_INTERVAL))
        problems = wait_matching(agent, soak_config(0))
        if problems:
            raise RuntimeError("the agent did not apply its config: %s\n%s" % (problems, read_log(agent)))
        sampled = sampled_command(proc.pid)
        samples, events, traffic, last_config = soak(lab, agent, proc, settings)
        time.sleep(0.5)  # the last copies in flight
        traffic["expected"] = counter_packets(lab, "src", "soak_expected")
        traffic["delivered"] = counter_packets(lab, "col", "soak_copies")
        problems = wait_matching(agent, last_config)
        proc.send_signal(signal.SIGTERM)
        exit_code = proc.wait(timeout=20)
        leftovers = lab.run("src", "nft", "list", "tables").stdout.count("traffic_mirror_agent")
        log = read_log(agent)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        lab.close()
    return {
        "samples": samples,
        "events": events,
        "traffic": traffic,
        "agent": {
            "sampled_command": sampled,
            "matches_config_at_end": not problems,
            "problems_at_end": problems,
            "sigterm_exit_code": exit_code,
            "tables_left_after_sigterm": leftovers,
            "log_reloads": log.count("SIGHUP: config reloaded"),
            "log_applies": log.count("applied:"),
            "log_failures": log.count("failed"),
        },
    }


def sampled_command(pid):
    """The command line of the sampled process: `ip netns exec` must have become the agent itself."""
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
        command = handle.read().replace(b"\0", b" ").decode().strip()
    if "traffic_mirror_agent" not in command or not command.startswith(sys.executable):
        raise RuntimeError("pid %d is not the agent: %s" % (pid, command))
    return command


def read_log(agent):
    with open(os.path.join(agent.workdir, "run.log")) as handle:
        return handle.read()


# ------------------------------------------------------------------ figures


def summarize(samples):
    minutes = [s["t_s"] / 60.0 for s in samples]
    rss = [s["rss_kib"] for s in samples]
    half = len(samples) // 2
    return {
        "samples": len(samples),
        "duration_s": samples[-1]["t_s"],
        "rss_start_kib": rss[0],
        "rss_end_kib": rss[-1],
        "rss_max_kib": max(rss),
        "rss_min_kib": min(rss),
        "rss_half_kib": rss[half],
        "slope_kib_per_min": least_squares_slope(minutes, rss),
        "slope_second_half_kib_per_min": least_squares_slope(minutes[half:], rss[half:]),
        "agent_cpu_s": samples[-1]["cpu_s"],
        "children_cpu_s": samples[-1]["children_cpu_s"],
    }


def plot(path, result):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = result["samples"]
    minutes = [s["t_s"] / 60.0 for s in samples]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.6), dpi=110, sharex=True, height_ratios=[3, 2])
    top.plot(minutes, [s["rss_kib"] / 1024.0 for s in samples], "-", linewidth=1.2, label="agent VmRSS")
    for event in result["events"]:
        color = "tab:orange" if event["what"].startswith("SIGHUP") else "tab:green"
        top.axvline(event["t_s"] / 60.0, color=color, linewidth=0.6, alpha=0.5)
        bottom.axvline(event["t_s"] / 60.0, color=color, linewidth=0.6, alpha=0.5)
    top.plot([], [], color="tab:orange", linewidth=0.8, label="SIGHUP reload")
    top.plot([], [], color="tab:green", linewidth=0.8, label="eth0 down/up")
    low = min(s["rss_kib"] for s in samples) / 1024.0
    high = max(s["rss_kib"] for s in samples) / 1024.0
    top.set_ylim(max(0.0, low - 2), high + 2)
    top.set_ylabel("RSS, MiB")
    s = result["summary"]
    top.set_title(
        "agent `run` RSS over %.1f min of traffic: slope %.2f KiB/min, second half %.2f KiB/min"
        % (s["duration_s"] / 60.0, s["slope_kib_per_min"], s["slope_second_half_kib_per_min"]),
        fontsize=10,
    )
    top.legend(fontsize=8, loc="lower right")
    top.grid(alpha=0.3)
    bottom.plot(minutes, [x["cpu_s"] for x in samples], label="agent CPU")
    bottom.plot(minutes, [x["children_cpu_s"] for x in samples], label="its nft/ip/tc children")
    bottom.set_ylabel("CPU, s (cumulative)")
    bottom.set_xlabel("minutes")
    bottom.legend(fontsize=8)
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(quick, out_dir, minutes=None):
    settings = dict(QUICK if quick else FULL)
    if minutes is not None:
        settings["minutes"] = minutes
    source_digest = common.agent_source_digest()
    with tempfile.TemporaryDirectory(prefix="tma-soak-") as workdir:
        result = run_soak(settings, workdir)
    if common.agent_source_digest() != source_digest:
        raise RuntimeError("the agent's source changed during the soak (the final check used other code): run again")
    result["agent_source_digest"] = source_digest
    result["settings"] = dict(settings, poll_interval_s=POLL_INTERVAL, payload_bytes=len(PAYLOAD))
    result["summary"] = summarize(result["samples"])
    traffic = result["traffic"]
    traffic["delivered_ratio"] = traffic["delivered"] / traffic["expected"] if traffic["expected"] else None
    result["plot"] = NAME + ".png"
    os.makedirs(out_dir, exist_ok=True)
    plot(os.path.join(out_dir, result["plot"]), result)
    return result


def render_markdown(result):
    s, t, a = result["summary"], result["traffic"], result["agent"]
    settings = result["settings"]
    rows = [
        ["duration", "%.1f min, %d samples" % (s["duration_s"] / 60.0, s["samples"])],
        [
            "agent RSS start / end / max",
            "%s / %s / %s MiB" % tuple(mib(s[k]) for k in ("rss_start_kib", "rss_end_kib", "rss_max_kib")),
        ],
        ["RSS slope (least squares), whole run", "%.2f KiB/min" % s["slope_kib_per_min"]],
        ["RSS slope, second half", "%.2f KiB/min" % s["slope_second_half_kib_per_min"]],
        ["agent CPU / its children's CPU", "%.1f s / %.1f s" % (s["agent_cpu_s"], s["children_cpu_s"])],
        ["churn events", "%d (%d SIGHUP reloads, %d interface down/up)" % churn_counts(result["events"])],
        ["datagrams sent / reached src eth0", "%d / %d" % (t["sent"], t["expected"])],
        ["copies delivered / expected", "%d / %d (%s)" % (t["delivered"], t["expected"], ratio_text(t))],
        [
            "after the soak",
            "kernel matches config: %s; SIGTERM exit %s, %d agent table(s) left"
            % ("yes" if a["matches_config_at_end"] else "NO", a["sigterm_exit_code"], a["tables_left_after_sigterm"]),
        ],
    ]
    return "\n\n".join(
        [
            "## Agent soak: memory of the `run` service under traffic and churn",
            "The agent as a service (`run --poll-interval %g`: a full consistency check every second) mirroring "
            "UDP at %d datagrams/s (%d-byte payload, copies truncated to 64 bytes) from peer to src, "
            "with a SIGHUP reload to a changed config or a down/up of the mirrored interface every %g s; "
            "VmRSS and CPU time of the agent sampled from /proc every %g s."
            % (
                settings["poll_interval_s"],
                settings["rate_pps"],
                settings["payload_bytes"],
                settings["churn_every_s"],
                settings["sample_every_s"],
            ),
            common.markdown_table(["figure", "value"], rows),
            "![agent RSS over the soak](performance/%s)" % result["plot"],
            common.machine_line(result),
            interpretation(result),
        ]
    )


def mib(kib):
    return "%.1f" % (kib / 1024.0)


def churn_counts(events):
    reloads = sum(1 for e in events if e["what"].startswith("SIGHUP"))
    return len(events), reloads, len(events) - reloads


def ratio_text(traffic):
    ratio = traffic["delivered_ratio"]
    return "n/a" if ratio is None else "%.4f" % ratio


def interpretation(result):
    s, t, a = result["summary"], result["traffic"], result["agent"]
    minutes = s["duration_s"] / 60.0
    checks = int(s["duration_s"] / result["settings"]["poll_interval_s"])
    growth = s["rss_end_kib"] - s["rss_start_kib"]
    parts = [
        "Over %.1f minutes (about %d consistency checks, %d reloads and %d interface flaps, %d applies logged) "
        "the agent's RSS went from %s to %s MiB (%+d KiB, max %s MiB); the least-squares slope is %.2f KiB/min "
        "over the whole run and %.2f KiB/min over the second half, after start-up."
        % (
            minutes,
            checks,
            churn_counts(result["events"])[1],
            churn_counts(result["events"])[2],
            a["log_applies"],
            mib(s["rss_start_kib"]),
            mib(s["rss_end_kib"]),
            growth,
            mib(s["rss_max_kib"]),
            s["slope_kib_per_min"],
            s["slope_second_half_kib_per_min"],
        )
    ]
    parts.append(flatness(s, checks))
    parts.append(
        "CPU: %.1f s in the agent and %.1f s in its nft/ip/tc children, %.1f%% of one core, or %.0f ms per "
        "consistency check if the checks are what costs (each starts `ip`, `nft -j list` and `tc` processes). "
        "The collector got %d copies of the %d datagrams that reached the mirrored interface (%s)%s."
        % (
            s["agent_cpu_s"],
            s["children_cpu_s"],
            100.0 * (s["agent_cpu_s"] + s["children_cpu_s"]) / max(1.0, s["duration_s"]),
            1000.0 * (s["agent_cpu_s"] + s["children_cpu_s"]) / max(1, checks),
            t["delivered"],
            t["expected"],
            ratio_text(t),
            copies_verdict(t),
        )
    )
    return " ".join(parts)


FLAT_SHARE = 0.01  # "flat": the second half adds less than 1% to the RSS


def flatness(summary, checks):
    """The verdict on the second half, with what a linear trend of its slope would mean."""
    first_half = summary["rss_half_kib"] - summary["rss_start_kib"]
    second_half = summary["rss_end_kib"] - summary["rss_half_kib"]
    share = second_half / float(summary["rss_half_kib"])
    per_check = summary["slope_second_half_kib_per_min"] * 1024 * summary["duration_s"] / 60.0 / max(1, checks)
    verdict = "flat" if share < FLAT_SHARE else "NOT flat"
    return (
        "The first half added %+d KiB (start-up), the second %+d KiB (%.2f%% of the "
        "RSS): %s by the measure of less than %d%% in the second half. Taken as a linear leak, the second-half "
        "slope would be %.0f bytes per consistency check and %.1f MiB per day; a run of %.1f minutes cannot tell "
        "that from the allocator still settling, a longer one (--minutes) can."
        % (
            first_half,
            second_half,
            100.0 * share,
            verdict,
            100 * FLAT_SHARE,
            per_check,
            summary["slope_second_half_kib_per_min"] * 60 * 24 / 1024.0,
            summary["duration_s"] / 60.0,
        )
    )


def copies_verdict(traffic):
    if traffic["delivered"] == traffic["expected"]:
        return ": none lost or doubled across the reloads (the nft table is replaced atomically) and the flaps"
    return ": %+d against one copy per datagram" % (traffic["delivered"] - traffic["expected"])


def main(argv=None):
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, help="soak duration (default: 10, or 1/3 with --quick)")
    args = parser.parse_args(argv)
    result = run(args.quick, args.out, args.minutes)
    common.publish(args.out, NAME, result, args.quick, render_markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
