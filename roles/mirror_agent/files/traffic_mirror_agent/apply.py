"""Changing the kernel: apply a Plan atomically, undo on failure, remove everything.

All changes go through ``ip``, ``tc``, ``nft`` and sysctl files; the nftables
part is one ``nft -f`` transaction (all or nothing). Devices are created before
the transaction (nothing sends to them until it commits) and deleted after it,
so a failure at any step leaves the previous mirroring in place.
"""

import contextlib
import os

from . import bpf
from . import diff
from . import ebpf_path
from . import host
from . import snapshot as kernel_snapshot
from .errors import AgentError
from .features import feature_error
from .render import FAMILY
from .render import TABLE


def _write_sysctl(path, value):
    if os.path.exists(path):  # absent when the kernel has IPv6 off: nothing to disable
        with open(path, "w") as handle:
            handle.write(value + "\n")


def attach_truncation(name, length, limit=None):
    attach_truncations([(name, length, limit)])


def attach_truncations(devices):
    """The truncation program on each (device, length, limit): one program per (length, limit), one
    ``tc -b`` batch for all (a load and two ``tc`` processes per device made a tenth of apply at 100
    interfaces). Devices sharing a program share its counter of copies it could not truncate."""
    if not devices:
        return
    try:
        with contextlib.ExitStack() as pins:
            paths = {}
            for key in sorted({(length, limit or 0) for _name, length, limit in devices}):
                paths[key] = pins.enter_context(bpf.pinned_truncation(key[0], key[1] or None))
            lines = []
            for name, length, limit in devices:
                lines.append("qdisc replace dev %s clsact" % name)
                lines.append(
                    "filter replace dev %s egress pref 1 handle 1 bpf da object-pinned %s"
                    % (name, paths[(length, limit or 0)])
                )
            proc = host.run(["tc", "-b", "-"], check=False, input_text="\n".join(lines) + "\n")
    except OSError as exc:
        raise AgentError(
            "this host cannot truncate copies: %s "
            "(needs eBPF: the bpf() system call, BPF_PROG_TYPE_SCHED_CLS and bpf_skb_change_tail)" % exc
        ) from None
    if proc.returncode != 0:
        raise AgentError(
            "this host cannot truncate copies: tc bpf filter (cls_bpf, CONFIG_NET_CLS_BPF, and clsact) failed: %s"
            % proc.stderr.strip()
        )


def _run_step(device, step):
    if step[0] == "ip":
        proc = host.run(["ip"] + step[1], check=False)
        if proc.returncode == 0:
            return
        if step[1][:2] == ["link", "add"]:
            if "Unknown device type" in proc.stderr or "not supported" in proc.stderr.lower():
                raise AgentError("this host lacks the vxlan driver (CONFIG_VXLAN): %s" % proc.stderr.strip())
            raise AgentError(
                "creating vxlan device %s (%s) failed: %s" % (device.name, device.alias, proc.stderr.strip())
            )
        raise AgentError("ip %s failed: %s" % (" ".join(step[1][:4]), proc.stderr.strip()))
    if step[0] == "sysctl":
        _write_sysctl(step[1], step[2])
    else:
        attach_truncation(device.name, step[1], step[2])


def create_device(device, truncations=None):
    """Create and set up ``device``; with ``truncations`` (a list), its truncation step is appended there
    as (name, length) for one attach_truncations() of all new devices, instead of run here."""
    steps = device.setup_steps()
    _run_step(device, steps[0])
    try:
        for step in steps[1:]:
            if step[0] == "truncate" and truncations is not None:
                truncations.append((device.name, step[1], step[2]))
            else:
                _run_step(device, step)
    except Exception:
        host.run(["ip", "link", "del", device.name], check=False)
        raise


def create_devices(devices, truncations, undo):
    """create_device() for many new devices with two ``ip -b`` batches (add and alias; then up, after
    IPv6 is off) instead of three ``ip`` processes per device. When a batch fails, the devices it made are
    deleted and each is created on its own, so the error names the device and the reason as before."""
    if not devices:
        return
    steps = {device.name: device.setup_steps() for device in devices}
    first, last = [], []
    for device in devices:
        for step in steps[device.name]:
            if step[0] != "ip":
                continue
            (last if "up" in step[1] else first).append(" ".join(_batch_word(word) for word in step[1]))
    made = []
    try:
        proc = host.run(["ip", "-b", "-"], check=False, input_text="\n".join(first) + "\n")
        made = sorted(set(host.links()) & set(steps))
        if proc.returncode == 0:
            for device in devices:
                for step in steps[device.name]:
                    if step[0] == "sysctl":
                        _write_sysctl(step[1], step[2])
            proc = host.run(["ip", "-b", "-"], check=False, input_text="\n".join(last) + "\n")
    except Exception:
        proc = None
    if proc is not None and proc.returncode == 0:
        for device in devices:
            truncations.extend((device.name, step[1], step[2]) for step in steps[device.name] if step[0] == "truncate")
            undo.append(["ip", "link", "del", device.name])
        return
    for name in made:
        host.run(["ip", "link", "del", name], check=False)
    for device in devices:  # one by one: the first failure is reported as it always was
        create_device(device, truncations)
        undo.append(["ip", "link", "del", device.name])


def _batch_word(word):
    """A word of an ``ip -b`` line (the alias has spaces: quoted)."""
    return '"%s"' % word if " " in word else word


def _remote_of(link):
    data = link.get("linkinfo", {}).get("info_data", {})
    return str(data.get("remote", data.get("remote6", "")))


def update_device(device, link, undo):
    """Bring an existing agent device in line with ``device`` in place; record how to undo. A device with
    another VNI or port under its name (the kernel changes neither in place) is deleted and created again."""
    name = device.name
    data = link.get("linkinfo", {}).get("info_data", {})
    if data.get("id") != device.vni or data.get("port") != device.port:
        host.run(["ip", "link", "del", name])
        create_device(device)
        undo.append(["ip", "link", "del", name])
        return
    remote = _remote_of(link)
    if remote != str(device.address):
        host.run(["ip", "link", "set", "dev", name, "type", "vxlan", "remote", str(device.address)])
        undo.append(["ip", "link", "set", "dev", name, "type", "vxlan", "remote", remote])
    alias = str(link.get("ifalias", ""))
    if alias != device.alias:
        host.run(["ip", "link", "set", "dev", name, "alias", device.alias])
        undo.append(["ip", "link", "set", "dev", name, "alias", alias])
    for step in device.setup_steps():
        if step[0] == "sysctl":
            _write_sysctl(step[1], step[2])
    if "UP" not in link.get("flags", []) or "NOARP" not in link.get("flags", []):
        host.run(["ip", "link", "set", "dev", name, "arp", "off", "up"])
    found = host.truncation_info(name)
    current = found[0] if found else None
    if diff.truncation_problem(device, found) or (current and not device.copy_length):
        if device.copy_length:
            attach_truncation(name, device.copy_length, device.copy_limit)
        else:
            host.run(["tc", "filter", "del", "dev", name, "egress"], check=False)
        if current and current.startswith(bpf.PROG_NAME_PREFIX) and current[len(bpf.PROG_NAME_PREFIX) :].isdigit():
            undo.append(("truncate", name, int(current[len(bpf.PROG_NAME_PREFIX) :])))
        else:
            undo.append(["tc", "filter", "del", "dev", name, "egress"])


def undo_steps(steps):
    for step in reversed(steps):
        if isinstance(step, tuple) and step[0] == "truncate":
            try:
                attach_truncation(step[1], step[2])
            except AgentError:
                pass
        else:
            host.run(step, check=False)


def _replace_table(plan, snapshot, devices_changed):
    """Replace the table when it differs from the plan; ``devices_changed``: the devices were created or
    changed since ``snapshot`` was read (a ``dup`` holds a device's ifindex: compare again with the new ones).
    After a replace, what nft makes of the new table is compiled once and kept (host.expected_bytecode()), so
    ``status`` and the next ``apply`` compare without compiling it again."""
    table = snapshot["table"]
    if devices_changed and plan.chains:
        snapshot = dict(snapshot, links=host.links())
        if table is not None:
            kernel_snapshot.expect(snapshot, plan, store=True)
    if plan.chains:
        if table is None or diff.table_problems(plan, snapshot):
            proc = host.run(["nft", "-f", "-"], check=False, input_text=plan.nft_script())
            if proc.returncode != 0:
                raise feature_error(proc.stderr.strip(), "nft rejected the ruleset")
            kernel_snapshot.expect(dict(snapshot, table={}), plan, store=True)
    elif table is not None:
        host.run(["nft", "delete", "table", FAMILY, TABLE])


def apply_plan(plan):
    """Make the kernel match ``plan``. Returns the differences it fixed ([] = nothing changed).

    Order: create or update the vxlan devices (nothing is copied to a new
    device before the transaction), replace the nftables table in one
    transaction, then delete devices no longer used. Any failure before the
    transaction commits undoes the device steps, so the previous mirroring
    stays as it was.
    """
    snapshot = kernel_snapshot.read(plan, store=True)
    before, ours = snapshot["links"], snapshot["ours"]
    problems = diff.compare(plan, snapshot)
    if not problems:
        return []
    undo = []
    loaded = []
    truncations = []
    try:
        new = []
        for name, device in sorted(plan.devices.items()):
            if name in ours:
                update_device(device, ours[name], undo)
                continue
            if name in before:
                raise AgentError("a device named %s exists and is not the agent's; refusing to touch it" % name)
            new.append(device)
        create_devices(new, truncations, undo)
        # before anything copies to the new devices
        attach_truncations(truncations)
        # every program is loaded (and verified) before the data path changes
        loaded = _load_programs(plan, snapshot["programs"], host.links() if undo else before)
        _replace_table(plan, snapshot, bool(undo))
    except Exception:
        for program in loaded:
            program.close()
        undo_steps(undo)
        raise
    ebpf_path.attach_all(loaded)
    ebpf_path.detach_all(i for i in snapshot["programs"] if plan.datapaths.get(i) != "ebpf")
    delete_devices(set(ours) - set(plan.devices))
    return problems


def _load_programs(plan, programs, all_links):
    """Load the programs whose name differs from the one attached (an unchanged one is not loaded)."""
    loaded = []
    try:
        for (interface, direction), (name, compiled) in sorted(ebpf_path.wanted(plan, all_links).items()):
            if not ebpf_path.runs(programs.get(interface, {}).get(direction), name, compiled):
                loaded.append(ebpf_path.load(interface, direction, name, compiled))
    except Exception:
        for program in loaded:
            program.close()
        raise
    return loaded


def remove_all():
    """Remove every kernel object the agent created, nothing else. Returns True when something was removed."""
    changed = False
    carrying = ebpf_path.scan(exclude=host.agent_links())
    if carrying:
        ebpf_path.detach_all(carrying)
        changed = True
    if host.table_bytecode() is not None:
        host.run(["nft", "delete", "table", FAMILY, TABLE])
        changed = True
    names = host.agent_links()
    if names:
        delete_devices(names)
        changed = True
    return changed


def delete_devices(names):
    """Delete vxlan devices with one ``ip -b`` batch (-force: past one already gone) instead of one ``ip``
    process each; the kernel's unregistering (about 20 ms a device here) is most of the time either way."""
    if names:
        host.run(
            ["ip", "-force", "-b", "-"], check=False, input_text="".join("link del %s\n" % n for n in sorted(names))
        )
