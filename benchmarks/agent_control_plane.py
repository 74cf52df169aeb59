"""Control plane of the software mirroring agent: apply time and memory for 3
sessions on each of 1, 10 and 100 interfaces with 10 rules per direction; then
`apply` again with no change, `status` and `remove`.

One network namespace holds N veth interfaces (their peers in a second one)
and a route to three targets in 198.18.1.0/24; no packet is sent. Each agent
command runs the real CLI in a small wrapper process that records the time
spent in each kind of child command (nft -f, ip link add, tc filter show, ...:
the profile that says which step dominates) and the agent's own peak RSS
(VmHWM). A second pass of the same commands runs every child under a launcher
that measures the child's own peak RSS (GNU time, else a tiny Python fork/wait4).
getrusage(RUSAGE_CHILDREN) of the agent would not do: a child started with
vfork inherits its parent's peak RSS at exec, so every `tc` would look as big
as the agent. Every size is repeated and the median reported.

Then, in the same lab, what would make it faster: the agent's nft ruleset
with its anonymous sets turned into a few named sets, one `tc -b` batch
instead of a `tc filter show` per device, one `ip -b` batch instead of three
`ip` processes per device.

Needs root (network namespaces), iproute2 and nftables.
"""

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import common  # noqa: E402

import netns_lab  # noqa: E402

NAME = "agent_control_plane"
FULL_SIZES = (1, 10, 100)
QUICK_SIZES = (1, 2)
FULL_REPEATS = 3
QUICK_REPEATS = 1
SESSIONS_PER_INTERFACE = 3
RULES_PER_DIRECTION = 10
UPLINK = "198.18.1.1/24"
# one appliance per session number, as a fleet mirroring every interface to three tools would
TARGETS = ("198.18.1.2", "198.18.1.3", "198.18.1.4")
PACKET_LENGTHS = (None, 128, 1500)
TABLE = ("netdev", "traffic_mirror_agent")
WHATIF_TABLE = "tma_whatif"
COMMANDS = ("apply_first", "apply_again", "status", "remove")
PROFILED = ("apply_first", "apply_again", "status", "remove")
SHOWN_MEMORY = ("apply_first", "apply_again", "status")
LABELS = {"apply_first": "apply (first)", "apply_again": "apply again", "status": "status --json", "remove": "remove"}

# Runs the agent CLI in this process (argv[1] = where to write the figures,
# the rest = the CLI's arguments). host.run and the bpf() calls are wrapped
# to time each kind of step; with NETMIRROR_BENCH_LAUNCHER set, every child runs
# under that launcher, which writes the child's peak RSS to NETMIRROR_BENCH_RSS_FILE.
MEASURING_WRAPPER = r"""
import json, os, sys, time
from traffic_mirror_agent import bpf, cli, ebpf_path, host

STEP_WORDS = {"ip", "tc", "nft", "-c", "-f", "link", "route", "qdisc", "filter", "table", "add", "set", "del",
              "delete", "show", "get", "list", "replace", "alias", "up"}
LAUNCHER = json.loads(os.environ.get("NETMIRROR_BENCH_LAUNCHER", "[]"))
RSS_FILE = os.environ.get("NETMIRROR_BENCH_RSS_FILE")
steps = {}

def record(name, seconds, rss=None):
    entry = steps.setdefault(name, {"count": 0, "seconds": 0.0, "max_rss_kib": 0})
    entry["count"] += 1
    entry["seconds"] += seconds
    if rss is not None:
        entry["max_rss_kib"] = max(entry["max_rss_kib"], rss)

def child_rss():
    with open(RSS_FILE) as handle:
        return int(handle.read().split()[-1])

real_run = host.run

def run(args, check=True, input_text=None):
    start = time.perf_counter()
    try:
        return real_run(LAUNCHER + list(args), check=check, input_text=input_text)
    finally:
        name = " ".join([w for w in args if w in STEP_WORDS][:4])
        record(name, time.perf_counter() - start, child_rss() if LAUNCHER else None)

def timed(name, function):
    def wrapper(*args):
        start = time.perf_counter()
        try:
            return function(*args)
        finally:
            record(name, time.perf_counter() - start)
    return wrapper

host.run = run
bpf.load = timed("bpf() load", bpf.load)
bpf.pin = timed("bpf() pin", bpf.pin)
ebpf_path.load = timed("bpf() load data path", ebpf_path.load)
start = time.perf_counter()
code = cli.main(sys.argv[2:])
inside = time.perf_counter() - start
own = os.times()
with open("/proc/self/status") as handle:
    hwm = [int(line.split()[1]) for line in handle if line.startswith("VmHWM:")][0]
with open(sys.argv[1], "w") as handle:
    json.dump({"inside_s": inside, "agent_peak_rss_kib": hwm, "agent_cpu_s": own.user + own.system,
               "children_cpu_s": own.children_user + own.children_system, "steps": steps}, handle)
sys.exit(code)
"""

# Without GNU time: fork from a small process and report the child's peak RSS
# (its floor is this launcher's own RSS, which a forked child starts with).
PYTHON_LAUNCHER = r"""
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as handle:
    handle.write("%d\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def launcher_floor_kib():
    """The peak RSS the launcher reports for `true`: nothing measured through it can be told apart below this."""
    with tempfile.TemporaryDirectory(prefix="tma-bench-") as workdir:
        rss_file = os.path.join(workdir, "rss")
        subprocess.run(child_launcher(rss_file)[1] + ["true"], check=True)
        with open(rss_file) as handle:
            return int(handle.read().split()[-1])


def child_launcher(rss_file):
    """(name, argv prefix) of the launcher that measures a child's peak RSS."""
    if shutil.which("time", path="/usr/bin"):
        return "GNU time", ["/usr/bin/time", "-f", "%M", "-o", rss_file]
    return "python fork/wait4", [sys.executable, "-S", "-c", PYTHON_LAUNCHER, rss_file]


# ------------------------------------------------------------------ the config


def port_range(low, high=None):
    return {"from_port": low, "to_port": low if high is None else high}


def rule_templates(direction):
    """Ten rules mixing IPv4/IPv6 CIDRs, port ranges, protocols, accept and reject."""
    near, far = ("destination", "source") if direction == "ingress" else ("source", "destination")
    any4 = {"source_cidr_block": "0.0.0.0/0", "destination_cidr_block": "0.0.0.0/0"}
    any6 = {"source_cidr_block": "::/0", "destination_cidr_block": "::/0"}
    return [
        dict(any4, rule_action="reject", protocol=6, **{near + "_port_range": port_range(22)}),
        dict(any4, rule_action="accept", protocol=6, **{near + "_port_range": port_range(80, 443)}),
        dict(any4, rule_action="accept", protocol=17, **{far + "_port_range": port_range(5000, 5100)}),
        dict(any4, rule_action="accept", protocol=1),
        dict(any6, rule_action="accept", protocol=6, **{near + "_port_range": port_range(8080)}),
        dict(any4, rule_action="reject", protocol=17, **{near + "_port_range": port_range(53)}),
        dict(any6, rule_action="accept", protocol=58),
        dict(any4, rule_action="accept", **{far + "_cidr_block": "198.19.0.0/16"}),
        dict(any6, rule_action="reject", protocol=17, **{far + "_cidr_block": "2001:db8:1::/48"}),
        dict(any4, rule_action="accept"),
    ]


def session_rules(direction, interface_index, session_number):
    """The templates, one of them narrowed to a CIDR of its own so no two sessions share a filter."""
    rules = []
    for position, template in enumerate(rule_templates(direction)[:RULES_PER_DIRECTION]):
        rule = dict(template, rule_number=10 * (position + 1))
        if position == 1:
            rule["destination_cidr_block"] = "198.18.%d.0/24" % ((interface_index * 3 + session_number) % 256)
        rules.append(rule)
    return rules


def interface_name(index):
    return "v%d" % index


def config_for(interfaces, datapath):
    sessions = []
    for index in range(interfaces):
        for number in range(1, SESSIONS_PER_INTERFACE + 1):
            session = {
                "name": "%s-s%d" % (interface_name(index), number),
                "network_interface": interface_name(index),
                "session_number": number,
                # AWS's default: a VNI of its own per session, hence a vxlan device per session
                "virtual_network_id": 1000 + index * SESSIONS_PER_INTERFACE + number,
                "target": {"address": TARGETS[number - 1]},
                "filter": {
                    "ingress_rules": session_rules("ingress", index, number),
                    "egress_rules": session_rules("egress", index, number),
                },
            }
            if PACKET_LENGTHS[number - 1]:
                session["packet_length"] = PACKET_LENGTHS[number - 1]
            sessions.append(session)
    return {"sessions": sessions, "datapath": datapath}


# ------------------------------------------------------------------ the lab


def build_lab(interfaces):
    """Namespaces src (the N mirrored veths and an uplink to the targets) and peer (their other ends)."""
    lab = netns_lab.Lab()
    try:
        lab.add_host("src")
        lab.add_host("peer")
        src_batch = ["link add up0 type veth peer name up1 netns %s" % lab.ns("peer"), "addr add %s dev up0" % UPLINK]
        peer_batch = ["link set up1 up"]
        for index in range(interfaces):
            name = interface_name(index)
            src_batch.append("link add %s type veth peer name p%d netns %s" % (name, index, lab.ns("peer")))
            src_batch.append("link set %s up" % name)
            peer_batch.append("link set p%d up" % index)
        src_batch.append("link set up0 up")
        netns_lab.sh("ip", "-n", lab.ns("src"), "-b", "-", input_text="\n".join(src_batch) + "\n")
        netns_lab.sh("ip", "-n", lab.ns("peer"), "-b", "-", input_text="\n".join(peer_batch) + "\n")
    except BaseException:
        lab.close()
        raise
    return lab


class MeasuredAgent(netns_lab.Agent):
    """The agent CLI in the measuring wrapper: wall time, per-step times, peak RSS."""

    def measured(self, *args, child_rss=False):
        figures_path = os.path.join(self.workdir, "figures.json")
        env = self.env()
        if child_rss:
            rss_file = os.path.join(self.workdir, "child_rss")
            env["NETMIRROR_BENCH_LAUNCHER"] = json.dumps(child_launcher(rss_file)[1])
            env["NETMIRROR_BENCH_RSS_FILE"] = rss_file
        command = ["ip", "netns", "exec", self.lab.ns(self.role), sys.executable, "-c", MEASURING_WRAPPER]
        start = time.perf_counter()
        proc = subprocess.run(
            command + [figures_path] + list(args), capture_output=True, text=True, env=env, check=False
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(
                "agent %s failed (%d): %s%s" % (" ".join(args), proc.returncode, proc.stdout, proc.stderr)
            )
        with open(figures_path) as handle:
            figures = json.load(handle)
        figures["wall_s"] = wall
        figures["stdout"] = proc.stdout
        return figures


def agent_table(lab):
    """The agent's nft table as JSON items ([] when it has none: the eBPF data path)."""
    proc = lab.run("src", "nft", "-j", "list", "table", *TABLE, check=False)
    return json.loads(proc.stdout)["nftables"] if proc.returncode == 0 else []


def data_path_programs(lab, interfaces):
    """(interface, direction, program id) of the agent's data path filters (tc pref 49) on the mirrored veths."""
    found = []
    for index in range(interfaces):
        for direction in ("ingress", "egress"):
            out = lab.run("src", "tc", "-j", "filter", "show", "dev", interface_name(index), direction).stdout
            for item in json.loads(out or "[]"):
                if item.get("kind") == "bpf" and item.get("pref") == 49 and item.get("options"):
                    found.append((interface_name(index), direction, item["options"].get("prog", {}).get("id")))
    return found


def agent_objects(lab, interfaces):
    """What the agent made in src: nft chains, rules and anonymous sets, eBPF data path programs, vxlan
    devices, truncation filters."""
    table = agent_table(lab)
    devices = agent_devices(lab)
    filters = 0
    for device in devices:
        out = lab.run("src", "tc", "-j", "filter", "show", "dev", device, "egress").stdout
        # tc lists a filter's priority entry and then the filter (with its options)
        filters += sum(1 for item in json.loads(out or "[]") if item.get("kind") == "bpf" and item.get("options"))
    return {
        "nft_chains": sum(1 for item in table if "chain" in item),
        "nft_rules": sum(1 for item in table if "rule" in item),
        "nft_anonymous_sets": count_anonymous_sets(table),
        "nft_verdict_maps": count_anonymous_sets(table, "vmap"),
        "data_path_programs": len(data_path_programs(lab, interfaces)),
        "vxlan_devices": len(devices),
        "truncation_filters": filters,
    }


def count_anonymous_sets(node, key="set"):
    """Set literals inside rule expressions (each is a set object in the kernel); key="vmap": the verdict maps."""
    if isinstance(node, dict):
        own = 1 if isinstance(node.get(key), dict if key == "vmap" else list) else 0
        return own + sum(count_anonymous_sets(value, key) for value in node.values())
    if isinstance(node, list):
        return sum(count_anonymous_sets(value, key) for value in node)
    return 0


def agent_devices(lab):
    links = json.loads(lab.run("src", "ip", "-j", "link", "show", "type", "vxlan").stdout)
    return sorted(link["ifname"] for link in links if link["ifname"].startswith("tma"))


def kernel_identity(lab, interfaces):
    """The agent's table with rule handles (a replaced table gets new ones), its data path programs' ids (a
    reloaded program gets a new one) and its devices' ifindexes."""
    listing = lab.run("src", "nft", "-a", "list", "table", *TABLE, check=False).stdout
    rules = [re.sub(r"counter packets \d+ bytes \d+", "counter", line) for line in listing.splitlines()]
    links = json.loads(lab.run("src", "ip", "-j", "link", "show", "type", "vxlan").stdout)
    devices = sorted((link["ifname"], link["ifindex"]) for link in links)
    return rules, data_path_programs(lab, interfaces), devices


# ------------------------------------------------------------------ one round


def timing_pass(lab, agent, interfaces):
    """apply on a clean kernel, apply again (must change nothing), status, remove."""
    first = agent.measured("apply", "--config", agent.config_path)
    if first["stdout"].strip() != "changed":
        raise RuntimeError("first apply did not report a change: %r" % first["stdout"])
    before = kernel_identity(lab, interfaces)
    again = agent.measured("apply", "--config", agent.config_path)
    again["reported"] = again["stdout"].strip()
    again["kernel_untouched"] = before == kernel_identity(lab, interfaces)
    status = agent.measured("status", "--json")
    status["matches"] = json.loads(status["stdout"])["matches"]
    objects = agent_objects(lab, interfaces)
    remove = agent.measured("remove")
    remove["reported"] = remove["stdout"].strip()
    remove["left_behind"] = len(agent_devices(lab))
    return {"apply_first": first, "apply_again": again, "status": status, "remove": remove, "objects": objects}


def memory_pass(agent):
    """The same commands with every child under the RSS launcher (slower: its times are not used)."""
    figures = {}
    for command, args in (
        ("apply_first", ("apply", "--config", agent.config_path)),
        ("apply_again", ("apply", "--config", agent.config_path)),
        ("status", ("status", "--json")),
        ("remove", ("remove",)),
    ):
        figures[command] = agent.measured(*args, child_rss=True)
    return figures


def one_round(lab, agent, interfaces):
    timing = timing_pass(lab, agent, interfaces)
    memory = memory_pass(agent)
    for command in COMMANDS:
        timing[command].pop("stdout", None)
        timing[command]["child_rss_kib"] = {
            name: step["max_rss_kib"] for name, step in memory[command]["steps"].items() if step["max_rss_kib"]
        }
    return timing


# ------------------------------------------------------------------ what would be faster


def in_namespace(lab, *args, input_text=None):
    """A command run directly in src (no `ip netns exec` in between): seconds taken and output."""
    with netns_lab.in_netns(lab.ns("src")):
        start = time.perf_counter()
        proc = subprocess.run(list(args), input=input_text, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), proc.stderr.strip()))
    return seconds, proc.stdout


def set_type(before):
    """nft type of an anonymous set from the expression in front of it (None: leave it anonymous)."""
    words = before.replace("!=", "").split()[-2:]
    key = " ".join(words)
    if key in ("meta protocol",):
        return "ether_type"
    if key == "meta l4proto":
        return "inet_proto"
    if key in ("icmp type", "icmpv6 type"):
        return key.replace(" ", "_")
    if words[-1] in ("saddr", "daddr"):
        return {"ip": "ipv4_addr", "ip6": "ipv6_addr"}.get(words[0])
    if words[-1] in ("sport", "dport"):
        return "inet_service"
    return None


def with_named_sets(script):
    """The same ruleset with each distinct anonymous set literal declared once as a named set."""
    names = {}
    for match in re.finditer(r"\{ ([^{}\n]+) \}", script):
        line_start = script.rfind("\n", 0, match.start()) + 1
        kind = set_type(script[line_start : match.start()])
        if kind and match.group(0) not in names:
            names[match.group(0)] = ("s%d" % len(names), kind)
    declarations = []
    for literal, (name, kind) in names.items():
        script = script.replace(literal, "@" + name)
        declarations.append("\tset %s {\n\t\ttype %s\n\t\telements = %s\n\t}\n" % (name, kind, literal))
    head, rest = script.split("{\n", 1)
    return head + "{\n" + "".join(declarations) + rest, list(names)


def rendered_ruleset(agent):
    """The agent's nft table as `render` prints it, without the replace preamble, under the what-if name."""
    out = agent("render", "--config", agent.config_path).stdout
    script = out.split("one atomic transaction)\n", 1)[1]
    body = script[script.index("table %s %s {" % TABLE) :]
    return body.replace("table %s %s {" % TABLE, "table netdev %s {" % WHATIF_TABLE, 1)


def time_ruleset(lab, script):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = in_namespace(lab, "nft", "-f", "-", input_text=script)[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    listing, out = in_namespace(lab, "nft", "-j", "list", "table", "netdev", WHATIF_TABLE)
    items = json.loads(out)["nftables"]
    delete = in_namespace(lab, "nft", "delete", "table", "netdev", WHATIF_TABLE)[0]
    return {
        "load_s": load,
        "delete_s": delete,
        "load_system_s": after.ru_stime - before.ru_stime,
        "load_user_s": after.ru_utime - before.ru_utime,
        "list_json_s": listing,
        "named_sets": sum(1 for item in items if "set" in item),
        "anonymous_sets": count_anonymous_sets([item for item in items if "rule" in item]),
        "verdict_maps": count_anonymous_sets([item for item in items if "rule" in item], "vmap"),
    }


def whatif_nft_sets(lab, agent):
    """nft -f and nft -j list of the agent's ruleset as it is, and with named sets (with the agent's devices up)."""
    script = rendered_ruleset(agent)
    named_script, literals = with_named_sets(script)
    return {
        "anonymous_sets": time_ruleset(lab, script),
        "named_sets": time_ruleset(lab, named_script),
        "named_literals": literals,
    }


def whatif_tc_reads(lab, devices):
    """One `tc filter show` per device (as the agent reads) against one `tc -b` batch; same answers."""
    answers = []
    start = time.perf_counter()
    for device in devices:
        answers.append(json.loads(in_namespace(lab, "tc", "-j", "filter", "show", "dev", device, "egress")[1] or "[]"))
    one_by_one = time.perf_counter() - start
    batch = "".join("filter show dev %s egress\n" % device for device in devices)
    batched, out = in_namespace(lab, "tc", "-j", "-b", "-", input_text=batch)
    same = [json.loads(line) for line in out.splitlines() if line.strip()] == answers
    return {"devices": len(devices), "one_by_one_s": one_by_one, "batch_s": batched, "same_answers": same}


WHATIF_GROUP = 4242  # a device group of the what-if devices' own (the namespace is ours)


def device_commands(index, group=False):
    """What the agent runs per device, for a device of our own (port 4790: no clash with the agent's)."""
    name = "tmw%07x" % index
    return name, [
        "link add %s%s type vxlan id %d remote %s dstport 4790 nolearning"
        % (name, " group %d" % WHATIF_GROUP if group else "", 900000 + index, TARGETS[0]),
        "link set dev %s alias whatif" % name,
        "link set dev %s arp off up" % name,
    ]


def one_process_each(lab, commands):
    start = time.perf_counter()
    for command in commands:
        in_namespace(lab, "ip", *command.split())
    return time.perf_counter() - start


def one_batch(lab, commands):
    return in_namespace(lab, "ip", "-b", "-", input_text="".join(command + "\n" for command in commands))[0]


def whatif_devices(lab, count):
    """Create and delete `count` vxlan devices (add, alias, up) as the agent does, one `ip` process per
    step, against one `ip -b` batch, and against deleting them with one request by their device group."""
    names = [device_commands(index)[0] for index in range(count)]
    create = [command for index in range(count) for command in device_commands(index)[1]]
    delete = ["link del %s" % name for name in names]
    result = {"devices": count}
    result["create_one_by_one_s"] = one_process_each(lab, create)
    result["delete_one_by_one_s"] = one_process_each(lab, delete)
    result["create_batch_s"] = one_batch(lab, create)
    result["delete_batch_s"] = one_batch(lab, delete)
    one_batch(lab, [command for index in range(count) for command in device_commands(index, group=True)[1]])
    result["delete_group_s"] = in_namespace(lab, "ip", "link", "delete", "group", str(WHATIF_GROUP))[0]
    result["left_behind"] = sum(1 for name in names if name in in_namespace(lab, "ip", "-br", "link")[1])
    return result


def whatifs(lab, agent, sessions):
    agent("apply", "--config", agent.config_path)
    try:
        result = {
            "nft_sets": whatif_nft_sets(lab, agent),
            "tc_reads": whatif_tc_reads(lab, agent_devices(lab)),
        }
    finally:
        agent("remove")
    result["devices"] = whatif_devices(lab, sessions)
    return result


# ------------------------------------------------------------------ one size


def summarize(rounds):
    """Medians per command and figure; per-step medians; the checks of every round."""
    summary = {"repeats": len(rounds), "objects": rounds[0]["objects"]}
    for command in COMMANDS:
        entry = {
            figure: statistics.median(r[command][figure] for r in rounds)
            for figure in ("wall_s", "inside_s", "agent_peak_rss_kib", "agent_cpu_s", "children_cpu_s")
        }
        entry["all_wall_s"] = [r[command]["wall_s"] for r in rounds]
        names = sorted({name for r in rounds for name in r[command]["steps"]})
        entry["steps"] = {name: median_step(rounds, command, name) for name in names}
        entry["child_rss_kib"] = {
            name: max(r[command]["child_rss_kib"].get(name, 0) for r in rounds)
            for name in sorted({name for r in rounds for name in r[command]["child_rss_kib"]})
        }
        summary[command] = entry
    summary["apply_again"]["reported"] = sorted({r["apply_again"]["reported"] for r in rounds})
    summary["apply_again"]["kernel_untouched"] = all(r["apply_again"]["kernel_untouched"] for r in rounds)
    summary["status"]["matches"] = all(r["status"]["matches"] for r in rounds)
    summary["remove"]["reported"] = sorted({r["remove"]["reported"] for r in rounds})
    summary["remove"]["left_behind"] = max(r["remove"]["left_behind"] for r in rounds)
    return summary


def median_step(rounds, command, name):
    steps = [r[command]["steps"].get(name, {"count": 0, "seconds": 0.0}) for r in rounds]
    return {"count": max(s["count"] for s in steps), "seconds": statistics.median(s["seconds"] for s in steps)}


def measure_size(interfaces, repeats, workdir, datapath="nftables"):
    """One size on one data path; the what-ifs (nftables alternatives) only on the nftables path."""
    lab = build_lab(interfaces)
    try:
        agent = MeasuredAgent(lab, "src", os.path.join(workdir, "%s%d" % (datapath, interfaces)))
        os.makedirs(agent.workdir, exist_ok=True)
        agent.write_config(config_for(interfaces, datapath))
        agent("remove")
        result = summarize([one_round(lab, agent, interfaces) for _round in range(repeats)])
        if datapath == "nftables":
            result["whatif"] = whatifs(lab, agent, interfaces * SESSIONS_PER_INTERFACE)
    finally:
        lab.close()
    result["datapath"] = datapath
    result["interfaces"] = interfaces
    result["sessions"] = interfaces * SESSIONS_PER_INTERFACE
    return result


# ------------------------------------------------------------------ plot and report


def step_seconds(entry, name):
    if name == "python (rest)":
        return max(0.0, entry["inside_s"] - sum(s["seconds"] for s in entry["steps"].values()))
    return entry["steps"].get(name, {}).get("seconds", 0.0)


def top_steps(size, commands, limit=6):
    totals = {}
    for command in commands:
        for name, step in size[command]["steps"].items():
            totals[name] = totals.get(name, 0.0) + step["seconds"]
    return sorted(totals, key=totals.get, reverse=True)[:limit]


def plot(path, sizes, ebpf_sizes=()):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=110)
    plot_times(left, sizes, ebpf_sizes)
    plot_steps(right, sizes[-1])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_times(ax, sizes, ebpf_sizes=()):
    xs = [s["interfaces"] for s in sizes]
    for path, measured, color in (("nftables", sizes, None), ("eBPF", ebpf_sizes, "grey")):
        for command, style in zip(COMMANDS, ("o-", "s-", "^--", "x:")):
            if not measured:
                continue
            ys = [s[command]["wall_s"] for s in measured]
            label = "%s (no change)" % LABELS[command] if command == "apply_again" else LABELS[command]
            kwargs = {"color": color, "alpha": 0.7} if color else {}
            ax.plot(xs, ys, style, label="%s %s: %.2f s at %d" % (path, label, ys[-1], xs[-1]), **kwargs)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([str(x) for x in xs])
    ax.set_xlabel("interfaces (3 sessions each, 10 rules per direction)")
    ax.set_ylabel("wall time of the CLI, s (median)")
    ax.set_title("agent command time vs interfaces", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6)


def plot_steps(ax, size):
    bottoms = [0.0] * len(PROFILED)
    shown = top_steps(size, PROFILED, limit=7)
    for name in shown + ["other steps", "python (rest)"]:
        if name == "other steps":
            values = [sum(step_seconds(size[c], n) for n in size[c]["steps"] if n not in shown) for c in PROFILED]
        else:
            values = [step_seconds(size[c], name) for c in PROFILED]
        ax.bar(range(len(PROFILED)), values, bottom=bottoms, label=name)
        bottoms = [b + v for b, v in zip(bottoms, values)]
    ax.set_xticks(range(len(PROFILED)))
    ax.set_xticklabels([LABELS[c] for c in PROFILED], fontsize=8)
    ax.set_ylabel("seconds inside the agent (median)")
    ax.set_title("where the time goes at %d interfaces" % size["interfaces"], fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)


def run(quick, out_dir):
    sizes = QUICK_SIZES if quick else FULL_SIZES
    repeats = QUICK_REPEATS if quick else FULL_REPEATS
    source_digest = common.agent_source_digest()
    with tempfile.TemporaryDirectory(prefix="tma-bench-") as workdir:
        results = [measure_size(n, repeats, workdir) for n in sizes]
        ebpf_results = [measure_size(n, repeats, workdir, "ebpf") for n in sizes]
    if common.agent_source_digest() != source_digest:
        raise RuntimeError("the agent's source changed while it was measured: run again")
    png = NAME + ".png"
    os.makedirs(out_dir, exist_ok=True)
    plot(os.path.join(out_dir, png), results, ebpf_results)
    return {
        "sizes": results,
        "ebpf_sizes": ebpf_results,
        "sessions_per_interface": SESSIONS_PER_INTERFACE,
        "rules_per_direction": RULES_PER_DIRECTION,
        "child_rss_launcher": child_launcher("-")[0],
        "child_rss_floor_kib": launcher_floor_kib(),
        "agent_source_digest": source_digest,
        "plot": png,
    }


def mib(kib):
    return "%.1f" % (kib / 1024.0)


def largest_child(size):
    """(MiB text, step) of the biggest child of any command."""
    best = max(((rss, name) for c in COMMANDS for name, rss in size[c]["child_rss_kib"].items()), default=(0, "-"))
    return mib(best[0]), best[1]


def summary_table(sizes):
    rows = []
    for s in sizes:
        child, child_step = largest_child(s)
        rows.append(
            [
                s["interfaces"],
                s["sessions"],
                "%.2f" % s["apply_first"]["wall_s"],
                "%.2f" % s["apply_again"]["wall_s"],
                "%.2f" % s["status"]["wall_s"],
                "%.2f" % s["remove"]["wall_s"],
                " / ".join(mib(s[c]["agent_peak_rss_kib"]) for c in SHOWN_MEMORY),
                "%s (`%s`)" % (child, child_step),
                s["objects"]["nft_rules"],
                s["objects"]["nft_anonymous_sets"],
                s["objects"]["data_path_programs"],
                s["objects"]["vxlan_devices"],
                ", ".join(s["apply_again"]["reported"])
                + ("" if s["apply_again"]["kernel_untouched"] else " (TOUCHED)"),
            ]
        )
    header = [
        "interfaces",
        "sessions",
        "apply, s",
        "re-apply, s",
        "status, s",
        "remove, s",
        "agent peak RSS, MiB (apply / re-apply / status)",
        "largest child RSS, MiB",
        "nft rules",
        "nft anonymous sets",
        "eBPF programs",
        "vxlan devices",
        "re-apply says",
    ]
    return common.markdown_table(header, rows)


def profile_table(size):
    """Every kind of step (seconds and calls) per command, then the agent's own Python and the total."""
    rows = []
    for name in top_steps(size, PROFILED, limit=100) + ["python (rest)"]:
        cells = ["`%s`" % name]
        for command in PROFILED:
            count = size[command]["steps"].get(name, {}).get("count")
            seconds = step_seconds(size[command], name)
            cells.append("%.2f (%d)" % (seconds, count) if count else "%.2f" % seconds)
        rows.append(cells)
    rows.append(["inside the agent"] + ["%.2f" % size[c]["inside_s"] for c in PROFILED])
    header = ["step at %d interfaces" % size["interfaces"]] + ["%s, s (calls)" % LABELS[c] for c in PROFILED]
    return common.markdown_table(header, rows)


def whatif_table(size):
    w = size["whatif"]
    d = w["devices"]
    anonymous, named = w["nft_sets"]["anonymous_sets"], w["nft_sets"]["named_sets"]
    rows = [
        [
            "`nft -f` of the ruleset",
            "%.2f s (%d anonymous sets)" % (anonymous["load_s"], anonymous["anonymous_sets"]),
            "%.2f s (%d named sets; %d verdict maps stay)"
            % (named["load_s"], named["named_sets"], named["verdict_maps"]),
        ],
        ["`nft -j list table`", "%.2f s" % anonymous["list_json_s"], "%.2f s" % named["list_json_s"]],
        [
            "read the truncation filters of %d devices" % w["tc_reads"]["devices"],
            "%.2f s (a `tc` per device)" % w["tc_reads"]["one_by_one_s"],
            "%.2f s (one `tc -b`%s)"
            % (w["tc_reads"]["batch_s"], "" if w["tc_reads"]["same_answers"] else ", DIFFERENT"),
        ],
        [
            "create %d vxlan devices (add, alias, up)" % d["devices"],
            "%.2f s (3 `ip` per device)" % d["create_one_by_one_s"],
            "%.2f s (one `ip -b`)" % d["create_batch_s"],
        ],
        [
            "delete them",
            "%.2f s (an `ip link del` per device)" % d["delete_one_by_one_s"],
            "%.2f s (one `ip -b`), %.2f s (one `ip link delete group`)" % (d["delete_batch_s"], d["delete_group_s"]),
        ],
        [
            "remove the table",
            "%.2f s (`nft -j list table`, then `nft delete table`)"
            % (anonymous["list_json_s"] + anonymous["delete_s"]),
            "%.2f s (`nft delete table` alone)" % anonymous["delete_s"],
        ],
    ]
    return common.markdown_table(["at %d interfaces" % size["interfaces"], "as the agent does it", "instead"], rows)


def render_markdown(result):
    sizes = result["sizes"]
    largest = sizes[-1]
    intro = (
        "%d sessions per interface, %d ingress + %d egress rules each (IPv4/IPv6 CIDRs, port ranges, TCP/UDP/ICMP, "
        "accept and reject), a VNI and so a vxlan device per session (AWS's default). Median of %d runs of "
        "`apply` on a clean kernel, `apply` again unchanged, `status --json` and `remove`: wall time of the CLI "
        "(interpreter start included), the agent process's peak RSS (VmHWM), and the largest peak RSS of one "
        "nft/ip/tc child (measured with %s around each child, in a separate pass; it reports %s MiB for `true`)."
        % (
            result["sessions_per_interface"],
            result["rules_per_direction"],
            result["rules_per_direction"],
            largest["repeats"],
            result["child_rss_launcher"],
            mib(result["child_rss_floor_kib"]),
        )
    )
    parts = [
        "## Agent control plane: apply, re-apply, status",
        intro,
        "### nftables data path",
        summary_table(sizes),
        "![apply time vs interfaces](performance/%s)" % result["plot"],
        profile_table(largest),
        "What would be faster, measured in the same lab:",
        whatif_table(largest),
        common.machine_line(result),
        interpretation(result),
    ]
    ebpf_sizes = result.get("ebpf_sizes")
    if ebpf_sizes:
        parts += [
            "### eBPF data path",
            "The same configs with `datapath: ebpf`: one cls_bpf program per mirrored interface and direction "
            "instead of the nft table; the vxlan devices and their truncation filters are the same. The plot "
            "above shows both paths.",
            summary_table(ebpf_sizes),
            profile_table(ebpf_sizes[-1]),
            ebpf_interpretation(result),
        ]
    return "\n\n".join(parts)


def ebpf_interpretation(result):
    nft, ebpf = result["sizes"][-1], result["ebpf_sizes"][-1]
    again = ebpf["apply_again"]
    loads = again["steps"].get("bpf() load data path", {}).get("count", 0)
    return (
        "At %d interfaces the first `apply` on the eBPF path takes %.1f s (nftables: %.1f s), re-applying the "
        "unchanged config %.1f s (nftables: %.1f s): it reports `%s`, loads %d programs and the kernel's "
        "programs, devices and their ids stay the same: %s."
        % (
            ebpf["interfaces"],
            ebpf["apply_first"]["wall_s"],
            nft["apply_first"]["wall_s"],
            again["wall_s"],
            nft["apply_again"]["wall_s"],
            ", ".join(again["reported"]),
            loads,
            "yes" if again["kernel_untouched"] else "NO",
        )
    )


def growth(sizes, command):
    """(sessions ratio, time ratio) of the command between the two largest sizes."""
    if len(sizes) < 2:
        return None
    small, large = sizes[-2], sizes[-1]
    return large["sessions"] / small["sessions"], large[command]["wall_s"] / small[command]["wall_s"]


def device_steps_seconds(size):
    return sum(
        step["seconds"]
        for name, step in size["apply_first"]["steps"].items()
        if name in ("ip", "tc")  # the ip -b / tc -b batches
        or name.startswith(("ip link add", "ip link set", "tc qdisc", "tc filter replace", "bpf()"))
    )


def device_processes(size):
    return sum(
        step["count"]
        for name, step in size["apply_first"]["steps"].items()
        if name in ("ip", "tc") or name.startswith(("ip link add", "ip link set", "tc qdisc", "tc filter replace"))
    )


def memory_sentence(sizes):
    large = sizes[-1]
    peaks = {c: large[c]["agent_peak_rss_kib"] for c in SHOWN_MEMORY}
    child, child_step = largest_child(large)
    text = (
        "Memory: the agent process peaks at %s MiB in the first apply, %s MiB in the re-apply and %s MiB in status "
        % (
            mib(peaks["apply_first"]),
            mib(peaks["apply_again"]),
            mib(peaks["status"]),
        )
    )
    text += "at %d interfaces (%s MiB at %d, mostly the interpreter)" % (
        large["interfaces"],
        mib(max(sizes[0][c]["agent_peak_rss_kib"] for c in SHOWN_MEMORY)),
        sizes[0]["interfaces"],
    )
    if peaks["apply_again"] > 1.5 * peaks["apply_first"]:
        # the first apply finds no table to read; the others parse the whole table as JSON
        text += "; the difference is the parsed `nft -j list table` output, which only the later commands read"
    return text + ". The largest child is `%s` at %s MiB." % (child_step, child)


def fixes_sentence(size):
    w = size["whatif"]
    anonymous, named = w["nft_sets"]["anonymous_sets"], w["nft_sets"]["named_sets"]
    d = w["devices"]
    if w["nft_sets"]["named_literals"]:
        sets_fix = (
            "(1) in render.py, declare the %d distinct set literals (%s) once per table as named sets and match "
            "them with `@name`: every anonymous set is a set object of its own in the kernel, and thousands of "
            "them cost more than the rules (`nft -f` %.2f s instead of %.2f s, `nft -j list` %.2f s instead of "
            "%.2f s)"
            % (
                named["named_sets"],
                ", ".join("`%s`" % literal for literal in w["nft_sets"]["named_literals"]),
                named["load_s"],
                anonymous["load_s"],
                named["list_json_s"],
                anonymous["list_json_s"],
            )
        )
    else:
        sets_fix = (
            "(1) done: the agent declares the sets its rules share once per table (no anonymous set literal is "
            "left to name; the per-interface verdict maps stay)"
        )
    return (
        "Cheap fixes in the agent, each measured above: %s; "
        "(2) read the truncation filters of all devices with one `tc -j -b -` batch (%.2f s instead of %.2f s, "
        "same answers: %s); (3) create the devices with one `ip -b` batch (%.2f s instead of %.2f s) and "
        "attach the filters with one `tc -b` batch per program length; (4) give the agent's devices a device "
        "group of their own and delete them with one `ip link delete group` (%.2f s instead of %.2f s: the "
        "kernel waits for each unregistered device, and a batch of `link del` (%.2f s) still deletes one at a "
        "time; the agent would first check the group holds only its own devices); (5) in `remove`, delete the "
        "table directly and read `No such file or directory` as nothing to remove (`nft delete table` %.2f s) "
        "instead of listing it whole first (%.2f s)."
        % (
            sets_fix,
            w["tc_reads"]["batch_s"],
            w["tc_reads"]["one_by_one_s"],
            "yes" if w["tc_reads"]["same_answers"] else "NO",
            d["create_batch_s"],
            d["create_one_by_one_s"],
            d["delete_group_s"],
            d["delete_one_by_one_s"],
            d["delete_batch_s"],
            anonymous["delete_s"],
            anonymous["list_json_s"],
        )
    )


def interpretation(result):
    sizes = result["sizes"]
    large = sizes[-1]
    first, again = large["apply_first"], large["apply_again"]
    nft_load = first["steps"].get("nft -f", {}).get("seconds", 0.0)
    list_read = again["steps"].get("nft list table", {}).get("seconds", 0.0)
    tc_read = again["steps"].get("tc filter show", {}).get("seconds", 0.0)
    anonymous = large["whatif"]["nft_sets"]["anonymous_sets"]
    factor = growth(sizes, "apply_first")
    parts = [
        "At %d interfaces (%d sessions: %d nft rules in %d chains, %d anonymous nft sets, %d vxlan devices with "
        "their truncation filters) the first `apply` takes %.1f s, re-applying the unchanged config %.1f s "
        "(it reports `%s` and the kernel objects keep their handles and ifindexes: %s), `status` %.1f s, "
        "`remove` %.1f s (of which `%s` %.1f s)."
        % (
            large["interfaces"],
            large["sessions"],
            large["objects"]["nft_rules"],
            large["objects"]["nft_chains"],
            large["objects"]["nft_anonymous_sets"],
            large["objects"]["vxlan_devices"],
            first["wall_s"],
            again["wall_s"],
            ", ".join(again["reported"]),
            "yes" if again["kernel_untouched"] else "NO",
            large["status"]["wall_s"],
            large["remove"]["wall_s"],
            top_steps(large, ("remove",), limit=1)[0],
            step_seconds(large["remove"], top_steps(large, ("remove",), limit=1)[0]),
        )
    ]
    if factor is not None:
        parts.append(
            "From %d to %d interfaces (%.0f times the sessions) the first apply takes %.1f times as long%s."
            % (
                sizes[-2]["interfaces"],
                large["interfaces"],
                factor[0],
                factor[1],
                ": superlinear" if factor[1] > 1.3 * factor[0] else "",
            )
        )
    parts.append(
        "Where it goes: `nft -f` %.1f s of the first apply (%.0f%% of it kernel time, in the what-if run below), "
        "the device and filter steps (`ip`/`tc` batches and bpf loads) %.2f s together (%d processes for all "
        "devices); in the re-apply, "
        "reading the table back (`nft -j list table`) %.1f s and one `tc filter show` per device %.1f s."
        % (
            nft_load,
            100.0 * anonymous["load_system_s"] / max(1e-9, anonymous["load_system_s"] + anonymous["load_user_s"]),
            device_steps_seconds(large),
            device_processes(large),
            list_read,
            tc_read,
        )
    )
    parts.append(fixes_sentence(large))
    parts.append(memory_sentence(sizes))
    return " ".join(parts)


def main(argv=None):
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    result = run(args.quick, args.out)
    common.publish(args.out, NAME, result, args.quick, render_markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
