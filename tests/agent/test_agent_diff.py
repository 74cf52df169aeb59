"""The nftables half of drift by behaviour, pure: host.parse_bytecode() reads nft's netlink bytecode as a
check (``nft -c --debug=netlink -f``) and as a listing (``nft --debug=netlink list table``) prints it, the two
forms of one table compare equal, and diff names what differs when one expression of a rule changes.

The texts were printed by nftables 1.0.6 (Debian 12) for this table, with vx1 at ifindex 2::

    table netdev traffic_mirror_agent {
     set s { type ipv4_addr; elements = { 1.2.3.4, 5.6.7.8 }; }
     chain in_x { type filter hook ingress device "vx0" priority 0; policy accept;
      meta protocol vmap { ip : goto c, ip6 : goto c } }
     chain c {
      meta protocol ip udp dport 5000-5010 counter dup to "vx1" accept comment "hello"
      meta protocol ip ip saddr @s counter return comment "x" } }
"""

import types

from traffic_mirror_agent import diff
from traffic_mirror_agent import host

CHECK = """\
netdev (null) (null) use 0 type filter hook ingress prio 0 packets 0 bytes 0 dev vx0\x20
netdev (null) (null) use 0
s traffic_mirror_agent 0
s traffic_mirror_agent 0
\telement 04030201  : 0 [end]\telement 08070605  : 0 [end]
__map%d traffic_mirror_agent b size 2
__map%d traffic_mirror_agent 0
\telement 00000008  : goto -> c 0 [end]\telement 0000dd86  : goto -> c 0 [end]
netdev traffic_mirror_agent in_x
  [ meta load protocol => reg 1 ]
  [ lookup reg 1 set __map%d dreg 0 ]

netdev traffic_mirror_agent c
  [ meta load protocol => reg 1 ]
  [ cmp eq reg 1 0x00000008 ]
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000011 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp gte reg 1 0x00008813 ]
  [ cmp lte reg 1 0x00009213 ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 1 0x00000002 ]
  [ dup sreg_dev 1 ]
  [ immediate reg 0 accept ]
  userdata = { \\x00\\x06hello\\x00 }
netdev traffic_mirror_agent c
  [ meta load protocol => reg 1 ]
  [ cmp eq reg 1 0x00000008 ]
  [ payload load 4b @ network header + 12 => reg 1 ]
  [ lookup reg 1 set s ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 0 return ]
  userdata = { \\x00\\x02x\\x00 }
"""
LISTING = """\
netdev traffic_mirror_agent @s
\telement 08070605  : 0 [end]
\telement 04030201  : 0 [end]
netdev traffic_mirror_agent @__map0
\telement 0000dd86  : goto -> c 0 [end]
\telement 00000008  : goto -> c 0 [end]
netdev traffic_mirror_agent in_x 5
  [ meta load protocol => reg 1 ]
  [ lookup reg 1 set __map0 dreg 0 0x0 ]

netdev traffic_mirror_agent c 6
  [ meta load protocol => reg 1 ]
  [ cmp eq reg 1 0x00000008 ]
  [ meta load l4proto => reg 1 ]
  [ cmp eq reg 1 0x00000011 ]
  [ payload load 2b @ transport header + 2 => reg 1 ]
  [ cmp gte reg 1 0x00008813 ]
  [ cmp lte reg 1 0x00009213 ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 1 0x00000002 ]
  [ dup sreg_dev 1 ]
  [ immediate reg 0 accept ]
  userdata = { \\x00\\x06hello\\x00 }
netdev traffic_mirror_agent c 7 6
  [ meta load protocol => reg 1 ]
  [ cmp eq reg 1 0x00000008 ]
  [ payload load 4b @ network header + 12 => reg 1 ]
  [ lookup reg 1 set s 0x0 ]
  [ counter pkts 0 bytes 0 ]
  [ immediate reg 0 return ]
  userdata = { \\x00\\x02x\\x00 }
table netdev traffic_mirror_agent {
\tset s {
\t\ttype ipv4_addr
\t\telements = { 1.2.3.4, 5.6.7.8 }
\t}

\tchain in_x {
\t\ttype filter hook ingress device "vx0" priority filter; policy accept;
\t\tmeta protocol vmap { ip : goto c, ip6 : goto c }
\t}

\tchain c {
\t\tmeta protocol ip udp dport 5000-5010 counter packets 0 bytes 0 dup to "vx1" accept comment "hello"
\t\tip saddr @s counter packets 0 bytes 0 return comment "x"
\t}
}
"""
PLAN = types.SimpleNamespace(chains={"in_x": [None], "c": ["hello", "x"]}, hooks={"in_x": ("ingress", "vx0")})


def problems(listing):
    return diff._compare_bytecode(PLAN, host.parse_bytecode(listing), host.parse_bytecode(CHECK))


def test_a_check_and_a_listing_of_one_table_read_the_same():
    check, listing = host.parse_bytecode(CHECK), host.parse_bytecode(LISTING)
    assert check["chains"] == listing["chains"] and check["sets"] == listing["sets"]
    assert [comment for comment, _code in listing["chains"]["c"]] == ["hello", "x"]
    # the verdict map's elements stand in for its name (__map%d in a check, __map0 in a listing)
    assert listing["chains"]["in_x"][0][1][1] == (
        "[ lookup reg 1 set {00000008 : goto -> c 0 [end], 0000dd86 : goto -> c 0 [end]} dreg 0 ]"
    )
    assert listing["sets"] == {"s": ["04030201 : 0 [end]", "08070605 : 0 [end]"]}
    assert listing["hooks"] == {"in_x": ("filter", "ingress", "vx0", "0", "accept")}
    assert listing["chain_names"] == ["in_x", "c"]
    hello = [rule for rule in listing["rules"] if rule["comment"] == "hello"][0]
    assert (hello["packets"], hello["bytes"], hello["dup_ifindex"]) == (0, 0, 2)
    assert problems(LISTING) == []


def test_a_changed_port_a_dropped_dup_another_device_and_a_set_element_are_named():
    port = LISTING.replace("cmp lte reg 1 0x00009213", "cmp lte reg 1 0x00009313")
    assert problems(port) == [
        "rule hello in chain c matches other packets than the config's (addresses, ports, protocol or direction)"
    ]
    no_dup = LISTING.replace("  [ immediate reg 1 0x00000002 ]\n  [ dup sreg_dev 1 ]\n", "")
    assert problems(no_dup) == ["rule hello in chain c makes no copy (its dup is gone)"]
    device = LISTING.replace("[ immediate reg 1 0x00000002 ]", "[ immediate reg 1 0x00000003 ]")
    assert problems(device) == ["rule hello in chain c copies to another device than the config's"]
    verdict = LISTING.replace("[ immediate reg 0 return ]", "[ immediate reg 0 accept ]")
    assert problems(verdict) == ["rule x in chain c has another verdict than the config's"]
    element = LISTING.replace("element 04030201", "element 05030201")
    assert problems(element) == ["set s holds other elements than the config's"]
    vmap = LISTING.replace("element 0000dd86  : goto -> c", "element 0000dd86  : goto -> d")
    assert problems(vmap) == [
        "a rule without a comment in chain in_x matches other packets than the config's "
        "(addresses, ports, protocol or direction)"
    ]
    hook = LISTING.replace('device "vx0"', 'device "vx9"')
    assert problems(hook) == ["chain in_x is not the config's ingress hook of vx0"]
