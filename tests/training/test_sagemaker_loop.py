"""The loop on AWS, against botocore's Stubber (the real client's parameter validation, no network):
the registry as a SageMaker model package group, and `loop run --on sagemaker` as one training job."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from click.testing import CliRunner

from app.cli import cli
from tests.training.test_registry import card
from training.errors import LaunchError, RegistryError
from training.launch import CHECKPOINT_DIR, MODEL_DIR, LaunchSettings, loop_job_request, start_loop
from training.sagemaker_registry import SageMakerModelRegistry, SageMakerRegistrySettings

GROUP = "ragbot-answer-model"
IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4-tgi3.0-gpu"
ARN = f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/{GROUP}/"
TRAINING = {
    "RAGBOT_SAGEMAKER_TRAINING_ROLE_ARN": "arn:aws:iam::123456789012:role/ragbot-training",
    "RAGBOT_SAGEMAKER_TRAINING_IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ragbot:latest",
    "RAGBOT_SAGEMAKER_TRAINING_OUTPUT_S3": "s3://ragbot-data/models",
    "RAGBOT_SAGEMAKER_REGISTRY_IMAGE_URI": IMAGE,
}


def client():
    return boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")


def registry(sm):
    return SageMakerModelRegistry(SageMakerRegistrySettings(image_uri=IMAGE), client=sm)


def test_a_candidate_becomes_a_model_package_whose_approval_follows_the_gate():
    sm = client()
    better, worse = card("better"), card("worse")
    url = "s3://ragbot-data/models/ragbot-loop-x/output/model.tar.gz"
    with Stubber(sm) as stub:
        # The first registration creates the group.
        stub.add_client_error(
            "describe_model_package_group",
            "ValidationException",
            f"ModelPackageGroup {GROUP} does not exist.",
            expected_params={"ModelPackageGroupName": GROUP},
        )
        stub.add_response(
            "create_model_package_group",
            {"ModelPackageGroupArn": f"arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/{GROUP}"},
            expected_params={"ModelPackageGroupName": GROUP, "ModelPackageGroupDescription": ANY},
        )
        for c, status, version in ((better, "PendingManualApproval", 1), (worse, "Rejected", 2)):
            if version == 2:
                stub.add_response("describe_model_package_group", describe_group(), {"ModelPackageGroupName": GROUP})
            stub.add_response(
                "create_model_package",
                {"ModelPackageArn": f"{ARN}{version}"},
                expected_params={
                    "ModelPackageGroupName": GROUP,
                    "ModelPackageDescription": f"ragbot {c.id}: sft (tiny); gate: {c.verdict}",
                    "InferenceSpecification": {
                        "Containers": [{"Image": IMAGE, "ModelDataUrl": url}],
                        "SupportedContentTypes": ["application/json"],
                        "SupportedResponseMIMETypes": ["application/json"],
                    },
                    "ModelApprovalStatus": status,
                    "CustomerMetadataProperties": {
                        "ragbot:id": c.id,
                        "ragbot:verdict": c.verdict,
                        "ragbot:data_hash": c.data_hash,
                        "ragbot:eval_set_hash": c.eval_set_hash,
                        "ragbot:method": "sft",
                        "ragbot:base": "SmolLM2-135M-Instruct",
                    },
                    "ClientToken": c.id,  # a retried registration makes one package
                },
            )
        assert registry(sm).register(better, url).sagemaker_arn == f"{ARN}1"
        assert registry(sm).register(worse, url).sagemaker_arn == f"{ARN}2"
        stub.assert_no_pending_responses()


def describe_group() -> dict:
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageGroupArn": f"arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/{GROUP}",
        "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
        "CreatedBy": {},
        "ModelPackageGroupStatus": "Completed",
    }


def summary(version: int, status: str) -> dict:
    return {
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": version,
        "ModelPackageArn": f"{ARN}{version}",
        "CreationTime": datetime(2026, 12, version, tzinfo=UTC),
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": status,
    }


def test_promote_approves_only_what_the_gate_called_better_and_rollback_rejects_the_served_one():
    sm = client()
    listed = {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending"}
    with Stubber(sm) as stub:
        stub.add_response("describe_model_package", described("worse"), {"ModelPackageName": f"{ARN}2"})
        stub.add_response("describe_model_package", described("worse"), {"ModelPackageName": f"{ARN}2"})
        stub.add_response(
            "update_model_package",
            {"ModelPackageArn": f"{ARN}2"},
            {
                "ModelPackageArn": f"{ARN}2",
                "ModelApprovalStatus": "Approved",
                "ApprovalDescription": "promoted by admin; forced: the SMEs read its answers",
            },
        )
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary(2, "Approved"), summary(1, "Approved")]},
            listed | {"ModelApprovalStatus": "Approved"},
        )
        stub.add_response(
            "update_model_package",
            {"ModelPackageArn": f"{ARN}2"},
            {
                "ModelPackageArn": f"{ARN}2",
                "ModelApprovalStatus": "Rejected",
                "ApprovalDescription": "rolled back by admin",
            },
        )
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary(1, "Approved")], "NextToken": "t"},
            listed | {"ModelApprovalStatus": "Approved"},
        )
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": []},
            listed | {"ModelApprovalStatus": "Approved", "NextToken": "t"},
        )
        r = registry(sm)
        with pytest.raises(RegistryError, match=f"the gate called {ARN}2 'worse': not approved.*--force REASON"):
            r.promote(f"{ARN}2", by="admin")
        r.promote(f"{ARN}2", by="admin", force="the SMEs read its answers")
        assert r.rollback(by="admin") == (f"{ARN}2", f"{ARN}1")
        assert r.served().arn == f"{ARN}1"
        stub.assert_no_pending_responses()


def described(verdict: str) -> dict:
    return {
        "ModelPackageName": GROUP,
        "ModelPackageArn": f"{ARN}2",
        "CreationTime": datetime(2026, 12, 2, tzinfo=UTC),
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CustomerMetadataProperties": {"ragbot:verdict": verdict},
    }


@pytest.fixture
def aws(monkeypatch):
    for k, v in TRAINING.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("RAGBOT_FEEDBACK_STORE", "dynamodb")
    monkeypatch.setenv("RAGBOT_DYNAMODB_TABLE", "ragbot-prod")


def test_loop_run_on_sagemaker_is_one_job_that_shares_its_home_and_never_overlaps(aws, monkeypatch):
    result = CliRunner().invoke(
        cli, ["loop", "run", "--on", "sagemaker", "--dry-run", "--profile", "full", "--method", "sft+dpo", "--promote"]
    )
    assert result.exit_code == 0, result.output
    request = json.loads(result.output)
    command = json.loads(request["HyperParameters"]["ragbot_command"])
    assert command[:6] == ["loop", "run", "--method", "sft+dpo", "--profile", "full"]
    assert "--promote" in command and command[-2:] == ["--export", MODEL_DIR]
    env = request["Environment"]
    assert env["RAGBOT_FEEDBACK_STORE"] == "dynamodb" and env["RAGBOT_DYNAMODB_TABLE"] == "ragbot-prod"
    assert env["RAGBOT_HOME"].startswith(CHECKPOINT_DIR)
    assert env["RAGBOT_SAGEMAKER_REGISTRY_IMAGE_URI"] == IMAGE
    name = request["TrainingJobName"]
    assert env["RAGBOT_LOOP_MODEL_DATA_URL"] == f"s3://ragbot-data/models/{name}/output/model.tar.gz"
    # One S3 home for every loop job: the next job finds this one's runs and registry.
    assert request["CheckpointConfig"] == {
        "S3Uri": "s3://ragbot-data/models/ragbot-loop/home",
        "LocalPath": CHECKPOINT_DIR,
    }
    assert "InputDataConfig" not in request

    # A secret setting never travels in the job's environment (DescribeTrainingJob shows it).
    monkeypatch.setenv("RAGBOT_OPENAI_API_KEY", "sk-secret")
    result = CliRunner().invoke(cli, ["loop", "run", "--on", "sagemaker", "--dry-run"])
    assert "sk-secret" not in result.output and "RAGBOT_OPENAI_API_KEY" not in result.output

    monkeypatch.setenv("RAGBOT_FEEDBACK_STORE", "sqlite")
    result = CliRunner().invoke(cli, ["loop", "run", "--on", "sagemaker", "--dry-run"])
    assert result.exit_code == 1 and "set RAGBOT_FEEDBACK_STORE=dynamodb" in result.output


def test_a_loop_job_is_not_started_while_another_runs(aws):
    settings = LaunchSettings()
    request = loop_job_request(
        ["--method", "sft"], settings, {"RAGBOT_FEEDBACK_STORE": "dynamodb"}, job_name="ragbot-loop-2"
    )
    sm = client()
    listing = {"NameContains": "ragbot-loop-", "StatusEquals": "InProgress", "MaxResults": 10}
    running = {
        "TrainingJobName": "ragbot-loop-1",
        "TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/ragbot-loop-1",
        "CreationTime": datetime(2026, 12, 1, tzinfo=UTC),
        "TrainingJobStatus": "InProgress",
    }
    with Stubber(sm) as stub:
        stub.add_response("list_training_jobs", {"TrainingJobSummaries": [running]}, listing)
        stub.add_response("list_training_jobs", {"TrainingJobSummaries": []}, listing)
        stub.add_response("create_training_job", {"TrainingJobArn": "arn:x:ragbot-loop-2"}, request)
        with pytest.raises(
            LaunchError, match="the loop job ragbot-loop-1 is still running: two loop runs never overlap"
        ):
            start_loop(request, settings, sm)
        assert start_loop(request, settings, sm) == "arn:x:ragbot-loop-2"
        stub.assert_no_pending_responses()


def test_model_promote_on_sagemaker_is_an_audited_admin_action(monkeypatch):
    from app.cli import CliState
    from app.config import Settings
    from app.services import Services

    services = Services(Settings())
    sm = client()
    services.models.__dict__["sagemaker"] = registry(sm)
    with Stubber(sm) as stub:
        stub.add_response("describe_model_package", described("better"), {"ModelPackageName": f"{ARN}2"})
        stub.add_response(
            "update_model_package",
            {"ModelPackageArn": f"{ARN}2"},
            {"ModelPackageArn": f"{ARN}2", "ModelApprovalStatus": "Approved", "ApprovalDescription": ANY},
        )
        result = CliRunner().invoke(cli, ["model", "promote", f"{ARN}2", "--on", "sagemaker"], obj=CliState(services))
        assert result.exit_code == 0, result.output
        assert f"Approved {ARN}2" in result.output
        stub.assert_no_pending_responses()
    events = services.backends.feedback_store.events(limit=5).items
    assert (events[0].action, events[0].target, events[0].detail["on"]) == ("model promote", f"{ARN}2", "sagemaker")

    monkeypatch.setenv("RAGBOT_ROLE", "engineer")
    result = CliRunner().invoke(cli, ["model", "promote", f"{ARN}2", "--on", "sagemaker"])
    assert result.exit_code == 1 and "only the admin role may change the served model" in result.output
