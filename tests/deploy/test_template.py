"""The CloudFormation templates under deploy/: cfn-lint finds nothing, CloudFormation can read them
(no YAML aliases), the feedback table is the store's own, everything that holds data is encrypted
with the stack's key, and the outbox alarms read lines ragbot really writes."""

from __future__ import annotations

import re

import pytest
import yaml

from feedback.stores.dynamodb import table_definition
from tests.deploy import cfn
from tests.deploy.conftest import COMBINATIONS, combination_id

TEMPLATES = sorted(
    p for p in (cfn.ROOT / "deploy").rglob("*.yaml") if "AWSTemplateFormatVersion" in p.read_text(encoding="utf-8")
)


def test_the_templates_are_found():
    assert {cfn.TEMPLATE, cfn.TABLE_TEMPLATE} <= set(TEMPLATES)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(cfn.ROOT)))
def test_cfn_lint_finds_nothing(path):
    assert cfn.lint(path) == []


def test_cfn_lint_reports_a_broken_copy(template):
    template["Resources"]["FeedbackTable"]["Properties"]["BillingMode"] = "FREE"
    template["Resources"]["AppService"]["Properties"]["TaskDefinition"] = {"Ref": "NoSuchTaskDefinition"}
    findings = cfn.lint(template)
    assert any(f.startswith("E3030") and "FREE" in f for f in findings), findings
    assert any(f.startswith("E3005") or "NoSuchTaskDefinition" in f for f in findings), findings


def aliases(text: str) -> list[str]:
    """Anchors and aliases, which CloudFormation's YAML reader does not accept."""
    return [
        f"line {e.start_mark.line + 1}: {'&' if not isinstance(e, yaml.AliasEvent) else '*'}{e.anchor}"
        for e in yaml.parse(text)
        if getattr(e, "anchor", None)
    ]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(cfn.ROOT)))
def test_no_yaml_anchors_or_aliases(path):
    assert aliases(path.read_text(encoding="utf-8")) == []


def test_an_anchor_and_its_alias_are_found():
    assert aliases("Resources:\n  A: &shared {Type: x}\n  B: *shared\n") == ["line 2: &shared", "line 3: *shared"]


# -- the feedback table ------------------------------------------------------------------------------


def table_problems(props: dict) -> list[str]:
    """How a table's properties differ from DynamoDBFeedbackStore.create_table()'s definition."""
    code = table_definition("t")
    problems = []

    def by_name(items, key):
        return {item[key]: item for item in items}

    if props.get("BillingMode") != code["BillingMode"]:
        problems.append(f"billing {props.get('BillingMode')}")
    if by_name(props["AttributeDefinitions"], "AttributeName") != by_name(
        code["AttributeDefinitions"], "AttributeName"
    ):
        problems.append("attribute definitions differ")
    if props["KeySchema"] != code["KeySchema"]:
        problems.append("key schema differs")
    mine = by_name(props.get("GlobalSecondaryIndexes", []), "IndexName")
    for name, index in by_name(code["GlobalSecondaryIndexes"], "IndexName").items():
        if name not in mine:
            problems.append(f"index {name} is missing")
        elif mine[name]["KeySchema"] != index["KeySchema"] or sorted(mine[name]["Projection"]["NonKeyAttributes"]) != (
            sorted(index["Projection"]["NonKeyAttributes"])
        ):
            problems.append(f"index {name} differs")
    if props.get("PointInTimeRecoverySpecification") != {"PointInTimeRecoveryEnabled": True}:
        problems.append("point-in-time recovery is off")
    return problems


def test_the_feedback_table_is_the_one_the_store_creates(template):
    deployment = cfn.Deployment(template)
    assert table_problems(deployment.properties("FeedbackTable")) == []
    (single,) = cfn.Deployment(cfn.load(cfn.TABLE_TEMPLATE)).resources  # deploy/dynamodb-table.yaml agrees
    assert table_problems(cfn.Deployment(cfn.load(cfn.TABLE_TEMPLATE)).properties(single)) == []
    assert template["Resources"]["FeedbackTable"]["DeletionPolicy"] == "Retain"

    table = template["Resources"]["FeedbackTable"]["Properties"]
    table["GlobalSecondaryIndexes"] = table["GlobalSecondaryIndexes"][:-1]
    table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] = False
    assert table_problems(cfn.Deployment(template).properties("FeedbackTable")) == [
        "index by_judge is missing",
        "point-in-time recovery is off",
    ]


# -- encryption ---------------------------------------------------------------------------------------

KEY = "{{GetAtt:Key.Arn}}"


def encryption_problems(deployment: cfn.Deployment) -> list[str]:
    """Resources that hold data and are not encrypted with the stack's key (or in transit)."""
    problems = []

    def expect(name: str, ok: bool, what: str) -> None:
        if name in deployment.resources and not ok:
            problems.append(f"{name}: {what}")

    p = deployment.properties
    r = deployment.resources
    if "FeedbackTable" in r:
        sse = p("FeedbackTable").get("SSESpecification", {})
        expect(
            "FeedbackTable",
            sse.get("SSEType") == "KMS" and sse.get("KMSMasterKeyId") == KEY,
            "not SSE-KMS with the key",
        )
    if "ArtifactsBucket" in r:
        (rule,) = p("ArtifactsBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        expect(
            "ArtifactsBucket", default == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY}, "not SSE-KMS with the key"
        )
        denies = [s for s in p("ArtifactsBucketPolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        expect("ArtifactsBucket", any("aws:SecureTransport" in str(s) for s in denies), "takes plain HTTP")
    if "FileSystem" in r:
        expect(
            "FileSystem",
            p("FileSystem").get("Encrypted") is True and p("FileSystem").get("KmsKeyId") == KEY,
            "not encrypted with the key",
        )
    for task in deployment.of_type("AWS::ECS::TaskDefinition"):
        # (A volume without a configuration is the task's own storage, which Fargate encrypts.)
        for volume in p(task).get("Volumes", []):
            if "EFSVolumeConfiguration" in volume:
                efs = volume["EFSVolumeConfiguration"]
                expect(task, efs.get("TransitEncryption") == "ENABLED", f"mounts {volume['Name']} without TLS")
    if "Domain" in r:
        domain = p("Domain")
        expect(
            "Domain",
            domain.get("EncryptionAtRestOptions") == {"Enabled": True, "KmsKeyId": KEY},
            "not encrypted at rest with the key",
        )
        expect("Domain", domain.get("NodeToNodeEncryptionOptions") == {"Enabled": True}, "nodes talk in the clear")
        expect("Domain", domain.get("DomainEndpointOptions", {}).get("EnforceHTTPS") is True, "takes plain HTTP")
    for policy in deployment.of_type("AWS::OpenSearchServerless::SecurityPolicy"):
        if p(policy)["Type"] == "encryption":
            expect(policy, f'"KmsARN":"{KEY}"' in p(policy)["Policy"], "the collection is not encrypted with the key")
    for name in deployment.of_type("AWS::Logs::LogGroup"):
        expect(name, p(name).get("KmsKeyId") == KEY, "logs not encrypted with the key")
    for name in deployment.of_type("AWS::SNS::Topic"):
        expect(name, p(name).get("KmsMasterKeyId") == "{{Ref:Key}}", "alarm topic not encrypted with the key")
    for listener in deployment.of_type("AWS::ElasticLoadBalancingV2::Listener"):
        props = p(listener)
        redirects = all(
            a["Type"] == "redirect" and a["RedirectConfig"]["Protocol"] == "HTTPS" for a in props["DefaultActions"]
        )
        expect(listener, props["Protocol"] == "HTTPS" or redirects, "serves plain HTTP")
    return problems


@pytest.mark.parametrize("parameters", COMBINATIONS[::3], ids=combination_id)
def test_everything_that_holds_data_is_encrypted_with_the_stacks_key(template_source, parameters):
    assert encryption_problems(cfn.Deployment(template_source, parameters)) == []


def test_an_unencrypted_copy_is_reported(template):
    del template["Resources"]["Domain"]["Properties"]["EncryptionAtRestOptions"]["KmsKeyId"]
    template["Resources"]["FileSystem"]["Properties"]["Encrypted"] = False
    template["Resources"]["AppTaskDefinition"]["Properties"]["Volumes"][0]["EFSVolumeConfiguration"][
        "TransitEncryption"
    ] = "DISABLED"
    assert encryption_problems(cfn.Deployment(template)) == [
        "FileSystem: not encrypted with the key",
        "AppTaskDefinition: mounts home without TLS",
        "Domain: not encrypted at rest with the key",
    ]


# -- the outbox alarms read what ragbot writes -----------------------------------------------------------


def filter_value(pattern: str, line: str) -> str | None:
    """CloudWatch Logs' space-delimited filter ``[a=x, b, …]`` applied to ``line``: the value of
    the metric's field (the one named ``waiting``), or None when the line does not match."""
    fields = [f.strip() for f in pattern.strip("[]").split(",")]
    words = line.split()
    if len(words) != len(fields):
        return None
    found = {}
    for spec, word in zip(fields, words, strict=True):
        name, _, expected = spec.partition("=")
        if expected and word != expected.strip('"'):
            return None
        found[name] = word
    return found.get("waiting")


def test_the_outbox_depth_filter_reads_the_line_ragbot_feedback_flush_prints(template_source):
    from click.testing import CliRunner

    from app.cli import cli

    pattern = template_source["Resources"]["OutboxDepthFilter"]["Properties"]["FilterPattern"]
    transformation = template_source["Resources"]["OutboxDepthFilter"]["Properties"]["MetricTransformations"][0]
    assert transformation["MetricValue"] == "$waiting"
    result = CliRunner().invoke(cli, ["feedback", "flush"])
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()
    assert filter_value(pattern, line) == "0"
    assert filter_value(pattern, re.sub(r"\d+ still", "7 still", line)) == "7"
    assert filter_value(pattern, line.replace("still waiting", "waiting")) is None
    outbox = template_source["Resources"]["AppTaskDefinition"]["Properties"]["ContainerDefinitions"][1]
    assert "ragbot feedback flush" in outbox["Command"][-1]


def test_the_rejected_outbox_filter_matches_what_the_outbox_logs(template_source):
    pattern = template_source["Resources"]["OutboxRejectedFilter"]["Properties"]["FilterPattern"].strip('"')
    sources = [p.read_text(encoding="utf-8") for p in (cfn.ROOT / "feedback").rglob("*.py")]
    logged = [m for text in sources for m in re.findall(r'log\.error\(\s*"([^"]*)', text)]
    assert sum(message.startswith(pattern) for message in logged) >= 2, logged  # refused, and not an entry
