"""Command line: render, apply, status, check, remove, run."""

import argparse
import json
import sys

from . import apply
from . import compiler
from . import datapath
from . import ebpf_path
from . import host
from . import probe
from . import service
from . import state
from . import status
from .config import ConfigError
from .config import load_config
from .config import parse_config
from .errors import AgentError
from .render import build_plan

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2


def _warn(warnings):
    for warning in warnings:
        sys.stderr.write("traffic_mirror_agent: warning: %s\n" % warning)


def cmd_render(args):
    config = load_config(args.config)
    try:
        mtus = host.host_mtus(config, strict=False)
    except AgentError:
        mtus = {}
    paths = datapath.resolve(config)
    plan = build_plan(config, mtus, paths)
    print("# data path: %s" % (", ".join("%s %s" % item for item in sorted(paths.items())) or "none"))
    print("# vxlan devices")
    for line in plan.commands():
        print(line)
    if plan.chains:
        print("# nftables (nft -f, one atomic transaction)")
        sys.stdout.write(plan.nft_script())
    for interface in plan.interfaces_on("ebpf"):
        for direction in ("ingress", "egress"):
            program = compiler.program_for(plan, interface, direction)
            print(
                "# eBPF: tc filter replace dev %s %s pref %s handle %s bpf da <%s: %d instructions, %d counters>"
                % (
                    interface,
                    direction,
                    ebpf_path.PREF,
                    ebpf_path.HANDLE,
                    ebpf_path.program_name(program),
                    len(program.code) // 8,
                    len(program.slots),
                )
            )
    return EXIT_OK


def cmd_apply(args):
    config = load_config(args.config)
    mtus = host.check_host(config)
    plan = build_plan(config, mtus, datapath.resolve(config))
    with state.exclusive():
        changed = apply.apply_plan(plan)
        state.save_state(config)
    _warn(host.offload_warnings(config))
    print("changed" if changed else "unchanged")
    return EXIT_OK


def cmd_status(args):
    if args.config:
        config = load_config(args.config)
    else:
        saved = state.load_state()
        config = parse_config(saved) if saved is not None else None
    data = status.report(config)
    if args.json:
        print(json.dumps(data, indent=1, sort_keys=True))
    else:
        print(status.format_text(data))
    return EXIT_OK


def cmd_check(args):
    """Can this host serve this config? Changes nothing (the mirror_agent role's preflight).

    Validates the config; tries every kernel feature the agent needs in a
    throw-away network namespace; checks the interfaces exist and the targets
    are reachable. --config-only checks the file alone (for validating a config
    before it is installed).
    """
    config = load_config(args.config)
    if args.config_only:
        print("config ok: %d session(s)" % len(config.sessions))
        return EXIT_OK
    missing = probe.missing_features(config.datapath)
    if missing:
        raise AgentError("this host lacks %s" % "; ".join(missing))
    host.check_host(config)
    _warn(host.offload_warnings(config))
    print("ok: this host can apply the config (%d session(s))" % len(config.sessions))
    return EXIT_OK


def cmd_remove(args):
    with state.exclusive():
        changed = apply.remove_all()
        state.clear_state()
    print("changed" if changed else "unchanged")
    return EXIT_OK


def cmd_run(args):
    return service.run(args.config, poll_interval=args.poll_interval)


def parser():
    top = argparse.ArgumentParser(
        prog="traffic_mirror_agent", description="AWS Traffic Mirroring semantics in the Linux kernel"
    )
    sub = top.add_subparsers(dest="command")
    sub.required = True
    p = sub.add_parser("render", help="print the kernel configuration apply would make; change nothing")
    p.add_argument("--config", required=True)
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("apply", help="make the kernel match the config (atomic, idempotent)")
    p.add_argument("--config", required=True)
    p.set_defaults(func=cmd_apply)
    p = sub.add_parser("status", help="packets and bytes mirrored; whether the kernel matches the config")
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", help="compare with this config instead of the last applied one")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser(
        "check",
        help="validate the config and check this host can apply it (features, interfaces, targets); change nothing",
    )
    p.add_argument("--config", required=True)
    p.add_argument("--config-only", action="store_true", help="validate the config only, not the host")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("remove", help="remove everything the agent created")
    p.set_defaults(func=cmd_remove)
    p = sub.add_parser("run", help="service mode (systemd): apply, follow interfaces, SIGHUP reloads, SIGTERM removes")
    p.add_argument("--config", required=True)
    p.add_argument("--poll-interval", type=float, default=5.0, help="seconds between consistency checks (default 5)")
    p.set_defaults(func=cmd_run)
    return top


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        sys.stderr.write("traffic_mirror_agent: invalid config: %s\n" % exc)
        return EXIT_CONFIG
    except AgentError as exc:
        sys.stderr.write("traffic_mirror_agent: %s\n" % exc)
        return EXIT_ERROR
