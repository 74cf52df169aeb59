"""Tags: TagSpecifications on create, CreateTags/DeleteTags, tag filters, DescribeTags."""

from __future__ import annotations

from .support import code, error_of, sessions


def spec(resource_type, **tags):
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def test_tag_specifications_on_every_create(ec2, net, make_session):
    target = ec2.create_traffic_mirror_target(
        NetworkInterfaceId=net["eni_ids"][1], TagSpecifications=spec("traffic-mirror-target", Name="t")
    )
    mirror_filter = ec2.create_traffic_mirror_filter(
        TagSpecifications=spec("traffic-mirror-filter", Name="f")
    )
    session = make_session(TagSpecifications=spec("traffic-mirror-session", Name="s"))
    assert target["TrafficMirrorTarget"]["Tags"] == [{"Key": "Name", "Value": "t"}]
    assert mirror_filter["TrafficMirrorFilter"]["Tags"] == [{"Key": "Name", "Value": "f"}]
    assert session["Tags"] == [{"Key": "Name", "Value": "s"}]
    assert sessions(ec2)[0]["Tags"] == [{"Key": "Name", "Value": "s"}]


def test_tag_specification_of_another_resource_type_is_rejected(ec2, make_session):
    assert (
        code(error_of(make_session, TagSpecifications=spec("instance", Name="s"))) == "InvalidParameterValue"
    )
    assert sessions(ec2) == []


def test_create_and_delete_tags_show_in_describe(ec2, make_session, filter_id, target_id):
    sid = make_session(TagSpecifications=spec("traffic-mirror-session", keep="1", drop="2"))[
        "TrafficMirrorSessionId"
    ]
    ec2.create_tags(Resources=[sid, filter_id, target_id], Tags=[{"Key": "env", "Value": "test"}])
    ec2.delete_tags(Resources=[sid], Tags=[{"Key": "drop"}])
    assert {t["Key"]: t["Value"] for t in sessions(ec2)[0]["Tags"]} == {"keep": "1", "env": "test"}
    (found_filter,) = ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"]
    assert found_filter["Tags"] == [{"Key": "env", "Value": "test"}]
    described = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["traffic-mirror-session"]}])[
        "Tags"
    ]
    assert {(t["ResourceId"], t["Key"]) for t in described} == {(sid, "keep"), (sid, "env")}


def test_create_tags_on_unknown_mirror_resource(ec2):
    error = error_of(ec2.create_tags, Resources=["tms-0123456789abcdef0"], Tags=[{"Key": "a", "Value": "b"}])
    assert code(error) == "InvalidTrafficMirrorSessionId.NotFound"


def test_tag_filters(ec2, net, make_session):
    make_session(session_number=1, TagSpecifications=spec("traffic-mirror-session", team="blue"))
    red = make_session(
        session_number=2, TagSpecifications=spec("traffic-mirror-session", team="red", extra="x")
    )
    make_session(session_number=3)

    def ids(filters):
        return [s["TrafficMirrorSessionId"] for s in sessions(ec2, Filters=filters)]

    assert ids([{"Name": "tag:team", "Values": ["red"]}]) == [red["TrafficMirrorSessionId"]]
    assert len(ids([{"Name": "tag:team", "Values": ["red", "blue"]}])) == 2
    assert len(ids([{"Name": "tag:team", "Values": ["*"]}])) == 2
    assert ids([{"Name": "tag-key", "Values": ["extra"]}]) == [red["TrafficMirrorSessionId"]]
    assert ids([{"Name": "tag:team", "Values": ["green"]}]) == []


def test_tags_are_gone_with_the_resource(ec2, make_session):
    sid = make_session(TagSpecifications=spec("traffic-mirror-session", a="b"))["TrafficMirrorSessionId"]
    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=sid)
    assert ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [sid]}])["Tags"] == []
