"""The filter module's rule planner: any current and desired rule sets, replayed step by step
against a model of AWS's per-direction rule table (rule numbers unique), end as desired,
never take a number still held, and use no more calls than deleting and re-creating."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.mirror_rules import parse_rule
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import modify_request
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_filters import plan_rule_changes

# Few numbers and contents, so that collisions, renumbers and swaps are common.
numbers = st.sampled_from([10, 20, 30, 40, 50])
contents = st.fixed_dictionaries(
    {
        "rule_action": st.sampled_from(["accept", "reject"]),
        "protocol": st.sampled_from([6, 17, None]),
        "source_cidr_block": st.sampled_from(["0.0.0.0/0", "198.18.0.0/15"]),
        "destination_cidr_block": st.just("0.0.0.0/0"),
    }
)


def rule_set(draw_numbers, draw_contents):
    return st.lists(st.tuples(draw_numbers, draw_contents), max_size=5, unique_by=lambda t: t[0]).map(
        lambda items: [
            parse_rule(dict({k: v for k, v in content.items() if v is not None}, rule_number=n), "ingress")
            for n, content in items
        ]
    )


def replay(current, steps):
    table = {r.rule_number: r for r in current}
    for step in steps:
        if step[0] == "delete":
            assert table.pop(step[1].rule_number) == step[1]
        elif step[0] == "modify":
            source, wanted = step[1], step[2]
            assert table.pop(source.rule_number) == source
            assert wanted.rule_number not in table, "modify onto a held number"
            assert modify_request(source, wanted), "a modify that changes nothing"
            table[wanted.rule_number] = wanted
        else:
            assert step[1].rule_number not in table, "create onto a held number"
            table[step[1].rule_number] = step[1]
    return table


@settings(max_examples=400, deadline=None)
@given(rule_set(numbers, contents), rule_set(numbers, contents), st.booleans())
def test_plan_reaches_the_desired_rules(current, desired, purge):
    steps = plan_rule_changes(current, desired, purge)
    table = replay(current, steps)
    expected = {r.rule_number: r for r in desired}
    if not purge:
        expected = {**{r.rule_number: r for r in current}, **expected}
    assert table == expected
    # Never more calls than deleting every changed rule and creating every new one.
    naive = len(set(current) - set(desired)) + len(set(desired) - set(current))
    assert len(steps) <= naive


def test_renumbering_is_one_modify_and_a_swap_needs_no_collision():
    a = parse_rule(
        {
            "rule_number": 10,
            "rule_action": "accept",
            "source_cidr_block": "0.0.0.0/0",
            "destination_cidr_block": "0.0.0.0/0",
        },
        "egress",
    )
    b = parse_rule(
        {
            "rule_number": 20,
            "rule_action": "reject",
            "source_cidr_block": "0.0.0.0/0",
            "destination_cidr_block": "0.0.0.0/0",
        },
        "egress",
    )
    moved = parse_rule(
        {
            "rule_number": 30,
            "rule_action": "accept",
            "source_cidr_block": "0.0.0.0/0",
            "destination_cidr_block": "0.0.0.0/0",
        },
        "egress",
    )
    assert [s[0] for s in plan_rule_changes([a], [moved], True)] == ["modify"]
    assert modify_request(a, moved) == {"RuleNumber": 30}
    swapped_a = parse_rule(dict(a.to_dict(), rule_number=20), "egress")
    swapped_b = parse_rule(dict(b.to_dict(), rule_number=10), "egress")
    steps = plan_rule_changes([a, b], [swapped_a, swapped_b], True)
    assert replay([a, b], steps) == {20: swapped_a, 10: swapped_b}
    assert len(steps) == 3  # a renumber cycle: one delete, one modify, one create
