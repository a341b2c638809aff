"""Creating the feedback table (``ragbot feedback init-table``) against servers that differ where
DynamoDB deployments differ: moto (has point-in-time recovery), dynalite (a DynamoDB-compatible
server without the backup calls, as DynamoDB Local), and DynamoDB's transient
ContinuousBackupsUnavailableException right after creation, stubbed with botocore's Stubber
because no local server produces it. The table definition is checked against the CloudFormation
template too."""

from __future__ import annotations

from pathlib import Path

import boto3
import botocore.exceptions
import pytest
import yaml
from botocore.stub import Stubber

from feedback.errors import StoreUnavailable
from feedback.stores.base import InteractionFilter
from feedback.stores.dynamodb import INDEXES, DynamoDBFeedbackStore, init_table, table_definition
from feedback.stores.dynamodb import table as table_module
from tests.feedback.contract import make
from tests.feedback.servers import AWS_TEST_ENV, DynaliteServer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def test_create_table_is_idempotent_and_describes_itself(aws_env, table_name):
    store = DynamoDBFeedbackStore(table_name)
    message = init_table(store)
    assert message.startswith(f"created table {table_name!r}") and "point-in-time recovery turned on" in message
    again = store.create_table()
    assert "already exists (ACTIVE) with every index; point-in-time recovery on" in again
    client = store.client
    table = client.describe_table(TableName=table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == sorted(INDEXES)
    assert table["SSEDescription"]["Status"] == "ENABLED"
    backups = client.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    client.delete_table(TableName=table_name)


def test_an_existing_table_without_the_indexes_is_reported(aws_env, table_name):
    store = DynamoDBFeedbackStore(table_name)
    store.client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    assert "lacks the indexes by_time, by_user" in store.create_table()
    store.client.delete_table(TableName=table_name)


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt) as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix} {node.value}")


def test_the_cloudformation_template_matches_create_table():
    template = yaml.load((ROOT / "deploy" / "dynamodb-table.yaml").read_text(), Loader=_CloudFormationLoader)
    (resource,) = template["Resources"].values()
    assert resource["Type"] == "AWS::DynamoDB::Table"
    props = resource["Properties"]
    code = table_definition("t")

    def by_name(items, key):
        return {item[key]: item for item in items}

    assert props["BillingMode"] == code["BillingMode"] == "PAY_PER_REQUEST"
    assert by_name(props["AttributeDefinitions"], "AttributeName") == by_name(
        code["AttributeDefinitions"], "AttributeName"
    )
    assert props["KeySchema"] == code["KeySchema"]
    template_indexes = by_name(props["GlobalSecondaryIndexes"], "IndexName")
    code_indexes = by_name(code["GlobalSecondaryIndexes"], "IndexName")
    assert template_indexes.keys() == code_indexes.keys()
    for name, index in code_indexes.items():
        mine = template_indexes[name]
        assert mine["KeySchema"] == index["KeySchema"], name
        assert mine["Projection"]["ProjectionType"] == index["Projection"]["ProjectionType"], name
        assert sorted(mine["Projection"]["NonKeyAttributes"]) == sorted(index["Projection"]["NonKeyAttributes"]), name
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True} and code["SSESpecification"] == {"Enabled": True}


def test_a_rerun_turns_point_in_time_recovery_on_for_a_table_that_has_it_off(aws_env, table_name):
    """The first run could not (or an operator turned it off): init-table checks and repairs."""
    store = DynamoDBFeedbackStore(table_name)
    store.create_table()
    store.client.update_continuous_backups(
        TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    assert "already exists (ACTIVE) with every index; point-in-time recovery turned on" in init_table(store)
    backups = store.client.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    store.client.delete_table(TableName=table_name)


# -- dynalite: no UpdateContinuousBackups ------------------------------------------------------


@pytest.fixture(scope="module")
def dynalite(tmp_path_factory):
    reason = DynaliteServer.available()
    if reason:
        pytest.skip(reason)
    server = DynaliteServer(tmp_path_factory.mktemp("dynalite"))
    server.start()
    yield server
    server.stop()


def test_on_a_server_without_the_backup_calls_the_table_is_made_with_a_warning(dynalite, table_name, caplog):
    client = boto3.client(
        "dynamodb",
        endpoint_url=dynalite.url,
        region_name="us-east-1",
        aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    with pytest.raises(botocore.exceptions.ClientError, match="UnknownOperationException"):
        client.describe_continuous_backups(TableName="any-table")  # what the test relies on
    store = DynamoDBFeedbackStore(table_name, client=client)
    message = init_table(store)
    assert message.startswith(f"created table {table_name!r}")
    assert "point-in-time recovery is not available on this server (UnknownOperationException)" in message
    assert "Turn it on where the table really lives" in caplog.text
    table = client.describe_table(TableName=table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE" and sorted(
        i["IndexName"] for i in table["GlobalSecondaryIndexes"]
    ) == sorted(INDEXES)
    store.put(make("a"))  # and it works
    assert store.get("a").question == make("a").question
    assert "already exists (ACTIVE) with every index; point-in-time recovery is not available" in init_table(store)


# -- ContinuousBackupsUnavailableException, then success --------------------------------------


def stubbed_store():
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return DynamoDBFeedbackStore("ragbot-feedback", client=client), Stubber(client)


def existing_table_answers(stub: Stubber) -> None:
    stub.add_client_error("create_table", service_error_code="ResourceInUseException", http_status_code=400)
    indexes = [{"IndexName": name} for name in INDEXES]
    stub.add_response(
        "describe_table",
        {"Table": {"TableName": "ragbot-feedback", "TableStatus": "ACTIVE", "GlobalSecondaryIndexes": indexes}},
    )


UNAVAILABLE = {
    "service_error_code": "ContinuousBackupsUnavailableException",
    "service_message": "Backups are being enabled for the table: ragbot-feedback. Please retry later",
    "http_status_code": 400,
}


def test_continuous_backups_unavailable_is_retried_until_it_works(monkeypatch):
    sleeps = []
    monkeypatch.setattr(table_module.time, "sleep", sleeps.append)
    store, stub = stubbed_store()
    existing_table_answers(stub)
    stub.add_client_error("describe_continuous_backups", **UNAVAILABLE)
    stub.add_client_error("update_continuous_backups", **UNAVAILABLE)
    stub.add_client_error("update_continuous_backups", **UNAVAILABLE)
    enabled = {
        "ContinuousBackupsStatus": "ENABLED",
        "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"},
    }
    stub.add_response(
        "update_continuous_backups",
        {"ContinuousBackupsDescription": enabled},
        {"TableName": "ragbot-feedback", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )
    with stub:
        assert store.create_table().endswith("point-in-time recovery turned on")
    stub.assert_no_pending_responses()
    assert sleeps == [1.0, 2.0]  # backing off


def test_continuous_backups_that_stay_unavailable_say_to_run_it_again(monkeypatch):
    clock = iter(range(0, 10_000, 7))
    monkeypatch.setattr(table_module.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(table_module.time, "monotonic", lambda: next(clock))
    store, stub = stubbed_store()
    existing_table_answers(stub)
    stub.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "DISABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
            }
        },
    )
    for _ in range(6):
        stub.add_client_error("update_continuous_backups", **UNAVAILABLE)
    with (
        stub,
        pytest.raises(StoreUnavailable, match=r"kept refusing .* for 30 s .*run `ragbot feedback init-table` again"),
    ):
        store.create_table(backup_timeout=30)


# -- a table made before the review queue ------------------------------------------------------

NEW_ATTRIBUTES = ("judge_pk", "judge_key", "judge_score", "sources", "layout")


def old_definition(table_name: str) -> dict:
    """The table as ragbot made it before the review queue: no by_judge, nothing of it projected."""
    definition = table_definition(table_name)
    definition["AttributeDefinitions"] = [
        a for a in definition["AttributeDefinitions"] if a["AttributeName"] not in ("judge_pk", "judge_key")
    ]
    definition["GlobalSecondaryIndexes"] = [
        i for i in definition["GlobalSecondaryIndexes"] if i["IndexName"] != "by_judge"
    ]
    for index in definition["GlobalSecondaryIndexes"]:
        projected = index["Projection"]["NonKeyAttributes"]
        index["Projection"]["NonKeyAttributes"] = [a for a in projected if a not in ("judge_score", "sources")]
    return definition


def test_init_table_brings_an_older_table_up_to_date(aws_env, table_name):
    from feedback.audit import AuditEvent
    from feedback.records import JudgeScore

    store = DynamoDBFeedbackStore(table_name)
    store.client.create_table(**old_definition(table_name))
    store.put(make("scored", sources=("Design/a.pdf",)))
    store.set_judge("scored", JudgeScore(score=1.5, judge_model="j"))
    store.put(make("plain", minutes=1))
    store.record_event(AuditEvent(actor="ana", role="admin", action="export"))
    for name in ("scored", "plain"):  # items as the older ragbot wrote them
        store.client.update_item(
            TableName=table_name,
            Key={"id": {"S": name}},
            UpdateExpression="REMOVE " + ", ".join(f"#a{n}" for n in range(len(NEW_ATTRIBUTES))),
            ExpressionAttributeNames={f"#a{n}": a for n, a in enumerate(NEW_ATTRIBUTES)},
        )
    with pytest.raises(StoreUnavailable, match="has no index 'by_judge': it was made by an older ragbot; run `ragbot"):
        store.list(order="judge_desc")

    message = init_table(store)
    assert "already exists (ACTIVE) and gained the indexes by_judge" in message
    assert "index by_time does not carry judge_score, sources" in message
    assert message.endswith("2 items rewritten to layout 2")
    assert [i.id for i in store.list(order="judge_desc").items] == ["scored"]
    assert store.get("scored").judge.score == 1.5 and store.events().items[0].actor == "ana"
    item = store.client.get_item(TableName=table_name, Key={"id": {"S": "scored"}})["Item"]
    assert item["sources"] == {"SS": ["Design/a.pdf"]} and item["layout"] == {"N": "2"}

    # The older by_time does not carry judge_score: a filter on it through by_time is refused
    # rather than answered with nothing; through by_judge, or without it, the queue works.
    with pytest.raises(
        StoreUnavailable, match="index by_time was made by an older ragbot and does not carry judge_score"
    ):
        store.list(InteractionFilter(max_judge_score=2.0))
    with pytest.raises(StoreUnavailable, match="does not carry judge_score, sources"):
        store.count_groups(InteractionFilter(max_judge_score=2.0), by="document")
    assert [i.id for i in store.list(InteractionFilter(max_judge_score=2.0), order="judge_asc").items] == ["scored"]
    assert store.count_groups(by="rating") == {"unrated": 2}

    again = init_table(store)
    assert "already exists (ACTIVE) with every index" in again and again.endswith("items in layout 2")
    store.client.delete_table(TableName=table_name)


def test_a_new_table_needs_no_rewrite(aws_env, table_name):
    store = DynamoDBFeedbackStore(table_name)
    assert init_table(store).endswith("0 items rewritten to layout 2")
    store.put(make("a"))
    assert init_table(store).endswith("with every index; point-in-time recovery on; items in layout 2")
    store.client.delete_table(TableName=table_name)
