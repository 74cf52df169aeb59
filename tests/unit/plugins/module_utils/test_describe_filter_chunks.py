"""tm_api.filter_chunks: a Describe's filters split into calls of at most 200 values (EC2's FilterLimitExceeded)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import MAX_FILTER_VALUES_PER_CALL
from ansible_collections.netmirror.traffic_mirror.plugins.module_utils.tm_api import filter_chunks


def test_filters_within_the_limit_are_one_call_unchanged():
    filters = [{"Name": "network-interface-id", "Values": ["a"] * 150}, {"Name": "tag-key", "Values": ["k"] * 50}]
    assert filter_chunks(filters) == [filters]


@given(
    widest=st.integers(min_value=1, max_value=1500),
    others=st.lists(st.integers(min_value=1, max_value=60), max_size=3),
)
def test_every_call_carries_at_most_200_values_and_together_they_carry_each_value_once(widest, others):
    filters = [
        {"Name": "tag:n{0}".format(n), "Values": ["v{0}".format(v) for v in range(count)]}
        for n, count in enumerate(others)
    ]
    filters.append({"Name": "network-interface-id", "Values": ["eni-{0}".format(n) for n in range(widest)]})
    chunks = filter_chunks(filters)
    assert all(sum(len(f["Values"]) for f in chunk) <= MAX_FILTER_VALUES_PER_CALL for chunk in chunks)
    assert all([f["Name"] for f in chunk] == [f["Name"] for f in filters] for chunk in chunks)
    # One filter (the one with the most values) is split; the others go whole into every call (they are AND-ed).
    split = [n for n in range(len(filters)) if any(chunk[n] != filters[n] for chunk in chunks)]
    assert len(split) <= 1 and (len(chunks) == 1) == (split == [])
    for n in split:
        assert len(filters[n]["Values"]) == max(len(f["Values"]) for f in filters)
        assert [value for chunk in chunks for value in chunk[n]["Values"]] == filters[n]["Values"]


def test_other_filters_that_alone_reach_the_limit_are_refused_with_the_reason():
    filters = [{"Name": "tag:a", "Values": ["v"] * 200}, {"Name": "network-interface-id", "Values": ["e"] * 201}]
    with pytest.raises(ValueError, match="at most 200 filter values in one call"):
        filter_chunks(filters)
