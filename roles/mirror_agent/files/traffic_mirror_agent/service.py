"""Service mode: keep the kernel matching the config while interfaces come and go.

- apply at start (sessions whose interface is absent wait for it);
- re-apply when a link appears, vanishes or comes back (rtnetlink link events,
  plus a consistency check every poll interval that also repairs drift);
- SIGHUP: reload the config; a bad new config is logged and the running one kept;
- SIGTERM/SIGINT: remove everything the agent created and exit 0.
A kill -9 leaves the last applied, consistent state in the kernel; the next
start reconciles it (apply is idempotent and removes leftovers).
"""

import os
import select
import signal
import socket
import sys
import time

from . import apply
from . import datapath
from . import host
from . import state
from .config import ConfigError
from .config import load_config
from .errors import AgentError
from .render import build_plan

RTMGRP_LINK = 0x1
RTMGRP_IPV4_ROUTE = 0x40
RTMGRP_IPV6_ROUTE = 0x400


def log(message):
    sys.stderr.write("%s traffic_mirror_agent: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), message))
    sys.stderr.flush()


def _netlink_socket():
    try:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE))
        sock.setblocking(False)
        return sock
    except (OSError, AttributeError) as exc:
        log("no rtnetlink events (%s); polling only" % exc)
        return None


def _drain(sock):
    try:
        while True:
            if not sock.recv(65536):
                break
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        pass


class Reconciled(object):
    """What the last reconcile did: the interfaces it applied to (``marker``)
    and the failure it logged (``error``), so each change is logged once."""

    def __init__(self, marker=None, error=None):
        self.marker = marker
        self.error = error


def reconcile(config, last):
    """Apply ``config`` limited to the interfaces present. Returns the new Reconciled."""
    last = last or Reconciled()
    all_links = host.links()
    present = {s.network_interface for s in config.sessions if s.network_interface in all_links}
    effective = config.only_interfaces(present)
    marker = tuple(sorted(present))
    try:
        mtus = host.check_host(effective, all_links)
        plan = build_plan(effective, mtus, datapath.resolve(effective))
        with state.exclusive():
            changed = apply.apply_plan(plan)
    except AgentError as exc:
        # a failure is logged when it is new or different, not at every poll
        if str(exc) != last.error:
            log("apply failed (will retry): %s" % exc)
        return Reconciled(last.marker, str(exc))
    state.save_state(config)
    if marker != last.marker:
        for warning in host.offload_warnings(effective):
            log("warning: %s" % warning)
    if changed or marker != last.marker or last.error:
        missing = sorted({s.network_interface for s in config.sessions} - present)
        log(
            "applied: %d session(s) on %s%s%s%s"
            % (
                len(effective.sessions),
                ", ".join(sorted(present)) or "no interface",
                ("; waiting for %s" % ", ".join(missing)) if missing else "",
                ("; fixed: %s" % "; ".join(changed[:5])) if changed else "",
                "; recovered from the failure above" if last.error else "",
            )
        )
    return Reconciled(marker)


def run(config_path, poll_interval=5.0):
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        log("invalid config: %s" % exc)
        return 2
    flags = {"reload": False, "stop": False}
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)

    def on_hup(signum, frame):
        flags["reload"] = True

    def on_term(signum, frame):
        flags["stop"] = True

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
    sock = _netlink_socket()
    log("starting (pid %d), config %s" % (os.getpid(), config_path))
    last = reconcile(config, None)
    next_check = time.monotonic() + poll_interval
    while not flags["stop"]:
        if flags["reload"]:
            flags["reload"] = False
            try:
                new = load_config(config_path)
            except ConfigError as exc:
                log("SIGHUP: invalid config kept out, still running the previous one: %s" % exc)
            else:
                config = new
                last = Reconciled()
                log("SIGHUP: config reloaded")
                last = reconcile(config, last)
            continue
        timeout = max(0.0, next_check - time.monotonic())
        readers = [wake_r] + ([sock] if sock is not None else [])
        try:
            ready = select.select(readers, [], [], timeout)[0]
        except InterruptedError:
            ready = []
        if wake_r in ready:
            _drain(wake_r)
        if flags["stop"] or flags["reload"]:
            continue
        if sock is not None and sock in ready:
            time.sleep(0.2)  # let a burst of link events settle
            _drain(sock)
            last = reconcile(config, last)
            _drain(sock)  # our own device changes
            next_check = time.monotonic() + poll_interval
        elif time.monotonic() >= next_check:
            last = reconcile(config, last)
            if sock is not None:
                _drain(sock)
            next_check = time.monotonic() + poll_interval
    log("stopping: removing the agent's kernel objects")
    try:
        with state.exclusive():
            apply.remove_all()
            state.clear_state()
    except AgentError as exc:
        log("remove failed: %s" % exc)
        return 1
    return 0
