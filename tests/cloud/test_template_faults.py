"""template.yaml's answers to faults: on-failure destinations, a bucket name valid everywhere,
quiet logs with a retention, and the defaults that make transforms big."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore
import pytest

from tests.moto_stack import template

# Read with tests.moto_stack's loader: `!GetAtt X.Arn` is "X.Arn", `!Ref X` is "X", `!Sub [s, vars]` a list.
RESOURCES: dict[str, Any] = template()["Resources"]
MODEL_OBJECT = "arn:${AWS::Partition}:s3:::${Object}"
ASYNC_SOURCES = "S3 notifications and EventBridge rules invoke a function asynchronously"


def _regions() -> list[str]:
    """Every region of every partition botocore knows (aws, aws-cn, aws-us-gov, the isolated ones)."""
    endpoints = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    return [r for p in endpoints["partitions"] for r in p["regions"]]


def _rules() -> dict[str, list[dict[str, Any]]]:
    """Every EventBridge rule's targets: the template's own rules and SAM's EventBridgeRule events."""
    rules = {k: r["Properties"]["Targets"] for k, r in RESOURCES.items() if r["Type"] == "AWS::Events::Rule"}
    for name, r in RESOURCES.items():
        for event_name, event in r.get("Properties", {}).get("Events", {}).items():
            if event["Type"] in ("EventBridgeRule", "Schedule", "ScheduleV2"):
                rules[name + event_name] = [event["Properties"]]
    return rules


def _async_functions() -> set[str]:
    targets = {t["Arn"].removesuffix(".Arn") for ts in _rules().values() for t in ts if "Arn" in t}
    targets |= {n for n, r in RESOURCES.items() for e in r.get("Properties", {}).get("Events", {}).values()
                if e["Type"] in ("EventBridgeRule", "Schedule", "S3")}  # fmt: skip
    notifications = RESOURCES["Bucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    for entry in notifications:
        config = entry[1] if isinstance(entry, list) else entry  # the !If's branch
        targets.add(config["Function"].removesuffix(".Arn"))
    return targets


def _queue(ref: str) -> dict[str, Any]:
    queue = RESOURCES[ref.removesuffix(".Arn")]
    assert queue["Type"] == "AWS::SQS::Queue"
    props: dict[str, Any] = queue["Properties"]
    return props


def test_every_async_invoke_has_an_encrypted_on_failure_queue_with_an_alarm() -> None:
    functions = _async_functions()
    assert functions == {"TransformStarterFunction", "ResultsFunction", "TransformEventsFunction"}, (
        ASYNC_SOURCES
    )
    for name in functions:
        config = RESOURCES[name]["Properties"]["EventInvokeConfig"]
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure["Type"] == "SQS", name
        queue = _queue(on_failure["Destination"])
        assert queue["SqsManagedSseEnabled"] is True and queue["MessageRetentionPeriod"] == 1209600
    alarms = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {d["Value"].removesuffix(".QueueName") for a in alarms for d in a["Dimensions"]}
    assert "DeliveryFailures" in watched


def test_every_rule_target_retries_then_dead_letters_to_a_queue_the_rule_may_write() -> None:
    rules = _rules()
    assert set(rules) == {"TransformSchedule", "TransformEventsFunctionTransformState"}
    (policy,) = [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    allowed = {a.removesuffix(".Arn") for a in statement["Condition"]["ArnEquals"]["aws:SourceArn"]}
    for rule, targets in rules.items():
        for target in targets:
            assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(target["RetryPolicy"]), rule
            _queue(target["DeadLetterConfig"]["Arn"])
        assert rule in allowed, f"{rule} may not send its dead letters"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}


def _bucket_name(sub: Any, *, account: str, stack_id: str) -> str:
    """Evaluate the template's `!Sub [text, {StackUuid: !Select [i, !Split [sep, !Ref AWS::StackId]]}]`."""
    text, variables = sub
    index, (separator, ref) = variables["StackUuid"]
    assert ref == "AWS::StackId"
    return (
        str(text)
        .replace("${AWS::AccountId}", account)
        .replace("${StackUuid}", stack_id.split(separator)[index])
    )


@pytest.mark.parametrize("region", sorted(_regions(), key=len)[-3:])  # the longest: us-isof-south-1 ...
def test_the_bucket_name_is_valid_in_every_region_for_any_stack_name(region: str) -> None:
    stack_name = "A" + "b-C9" * 31 + "xyz"  # 128 characters, mixed case: the most CloudFormation allows
    assert len(stack_name) == 128
    uuid = "1c2fa620-982a-11e3-aff7-50e2416294e0"
    stack_id = f"arn:aws:cloudformation:{region}:123456789012:stack/{stack_name}/{uuid}"
    sub = RESOURCES["Bucket"]["Properties"]["BucketName"]
    name = _bucket_name(sub, account="123456789012", stack_id=stack_id)
    # S3's rules: 3-63 characters, lowercase letters, digits, dots and hyphens, letters or digits at the ends.
    assert 3 <= len(name) <= 63 and re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name) and ".." not in name, (
        name
    )
    assert not name.startswith(("xn--", "sthree-")) and not name.endswith(("-s3alias", "--ol-s3"))
    # The functions and every policy use that same name (they cannot !Ref the bucket: a cycle).
    env = template()["Globals"]["Function"]["Environment"]["Variables"]["ASYNCML_BUCKET_NAME"]
    assert env == sub
    # (the one exception is the model archive's own bucket, given by ModelDataUrl)
    arns = [s for s in _strings_and_subs(template()) if "s3:::" in s[0] and s[0] != MODEL_OBJECT]
    assert len(arns) > 10
    for text, variables in arns:
        assert text.startswith("arn:${AWS::Partition}:s3:::" + sub[0]) and variables == sub[1], text


def _strings_and_subs(node: Any) -> list[tuple[str, Any]]:
    if isinstance(node, str):
        return [(node, None)]
    if isinstance(node, list) and len(node) == 2 and isinstance(node[0], str) and isinstance(node[1], dict):
        return [(node[0], node[1])]
    items = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return [found for item in items for found in _strings_and_subs(item)]


def test_appsync_logs_errors_only_and_every_log_group_has_a_retention() -> None:
    api = RESOURCES["Api"]["Properties"]
    assert api["Logging"] == {"FieldLogLevel": "ERROR", "ExcludeVerboseContent": True}
    groups = {k: r["Properties"] for k, r in RESOURCES.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert all(g["RetentionInDays"] == "LogRetentionDays" for g in groups.values())
    functions = [k for k, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"]
    for name in functions:  # Lambda would otherwise make /aws/lambda/<name>, kept forever
        assert RESOURCES[name]["Properties"]["LoggingConfig"]["LogGroup"] in groups, name
    assert any(g.get("LogGroupName") == "/aws/appsync/apis/${Api.ApiId}" for g in groups.values())
    days = template()["Parameters"]["LogRetentionDays"]
    assert days["Default"] == 30 and 30 in days["AllowedValues"] and 3653 in days["AllowedValues"]


def test_the_defaults_start_big_transforms_and_the_starter_outlives_none_of_its_claims() -> None:
    params = template()["Parameters"]
    assert (
        params["TriggerType"]["Default"] == "schedule"
        and params["ScheduleRate"]["Default"] == "rate(1 minute)"
    )
    assert params["TransformMinRecords"]["Default"] == 5000
    env = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert env["ASYNCML_TRANSFORM_MIN_RECORDS"] == "TransformMinRecords"
    assert env["ASYNCML_TRANSFORM_MAX_WAIT"] == "TransformMaxWaitSeconds"
    starter = RESOURCES["TransformStarterFunction"]["Properties"]
    # A claim is taken over after the lease: no invocation may still be running by then.
    assert (
        float(starter["Environment"]["Variables"]["ASYNCML_START_LEASE_SECONDS"]) >= starter["Timeout"] > 60
    )
    schedule = RESOURCES["TransformSchedule"]
    assert "Condition" not in schedule  # the re-drive ticks with either trigger
