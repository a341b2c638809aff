"""The SageMaker training job request, checked against botocore's Stubber (the real client's
parameter validation, no network)."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from app.cli import cli
from training.errors import LaunchError
from training.launch import DATA_DIR, MODEL_DIR, LaunchSettings, launch, training_job_request

ENV = {
    "RAGBOT_SAGEMAKER_TRAINING_ROLE_ARN": "arn:aws:iam::123456789012:role/ragbot-training",
    "RAGBOT_SAGEMAKER_TRAINING_IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/ragbot:latest",
    "RAGBOT_SAGEMAKER_TRAINING_DATA_S3": "s3://ragbot-data/datasets/2026-12-01",
    "RAGBOT_SAGEMAKER_TRAINING_OUTPUT_S3": "s3://ragbot-data/models/",
    "RAGBOT_SAGEMAKER_TRAINING_MAX_RUNTIME_S": "7200",
}
COMMAND = ["train", "sft", "--data", "data/ds", "--out", "out/sft", "--profile", "full"]


@pytest.fixture
def settings(monkeypatch):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    return LaunchSettings()


def test_the_request_passes_botocore_validation_and_starts_the_job(settings):
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    expected = training_job_request(COMMAND, settings, job_name="ragbot-sft-test")
    with Stubber(client) as stub:
        stub.add_response(
            "create_training_job",
            {"TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/ragbot-sft-test"},
            expected_params=expected,
        )
        assert launch(COMMAND, settings, client, job_name="ragbot-sft-test").endswith("training-job/ragbot-sft-test")
        stub.assert_no_pending_responses()
    assert json.loads(expected["HyperParameters"]["ragbot_command"]) == [
        "train",
        "sft",
        "--data",
        DATA_DIR,
        "--out",
        MODEL_DIR,
        "--profile",
        "full",
    ]
    assert expected["EnableManagedSpotTraining"] is True
    assert expected["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400}
    assert expected["CheckpointConfig"]["S3Uri"] == "s3://ragbot-data/models/ragbot-sft-test/checkpoints"
    assert (
        expected["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        == ENV["RAGBOT_SAGEMAKER_TRAINING_DATA_S3"]
    )


def test_a_refusal_from_sagemaker_is_one_line(settings):
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stub:
        stub.add_client_error(
            "create_training_job", "ResourceLimitExceeded", "The account-level service limit is 0 instances"
        )
        with pytest.raises(LaunchError, match="SageMaker refused the training job .*: .*service limit"):
            launch(COMMAND, settings, client)


def test_on_demand_has_no_spot_wait(settings, monkeypatch):
    monkeypatch.setenv("RAGBOT_SAGEMAKER_TRAINING_SPOT", "false")
    request = training_job_request(COMMAND, LaunchSettings(), job_name="j")
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200} and "CheckpointConfig" not in request


def test_bad_commands_and_settings_are_refused(settings, monkeypatch):
    with pytest.raises(LaunchError, match="give the train command"):
        training_job_request(["ingest", "x"], settings)
    with pytest.raises(LaunchError, match="needs --out"):
        training_job_request(["train", "sft", "--data", "d"], settings)
    monkeypatch.setenv("RAGBOT_SAGEMAKER_TRAINING_DATA_S3", "/local/folder")
    result = CliRunner().invoke(cli, ["train", "launch", "--on", "sagemaker", "--dry-run", "--", *COMMAND])
    assert result.exit_code == 1 and "data_s3 must be an s3://bucket/prefix URI" in result.output


def test_dry_run_prints_the_request(settings):
    result = CliRunner().invoke(cli, ["train", "launch", "--on", "sagemaker", "--dry-run", "--", *COMMAND])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ResourceConfig"]["InstanceType"] == "ml.g5.2xlarge"


def test_the_images_entry_point_runs_the_launched_command(tmp_path, monkeypatch):
    """What SageMaker runs in the container: the command of the request, through ragbot."""
    import subprocess
    import sys

    from training.launch import LaunchSettings, training_job_request

    settings = LaunchSettings(
        role_arn="arn:aws:iam::123456789012:role/r",
        image_uri="123456789012.dkr.ecr.eu-west-1.amazonaws.com/ragbot:latest",
        data_s3="s3://my-bucket/datasets/ds",
        output_s3="s3://my-bucket/models",
    )
    request = training_job_request(["train", "sft", "--data", "ds", "--out", "out", "--help"], settings, job_name="j")
    hps = tmp_path / "hyperparameters.json"
    hps.write_text(json.dumps(request["HyperParameters"]))
    env = {"RAGBOT_SM_HYPERPARAMETERS": str(hps), "RAGBOT_SM_FAILURE": str(tmp_path / "failure")}
    done = subprocess.run(
        [sys.executable, "-m", "training.sagemaker_entry"],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "LoRA fine-tuning of the answer model" in done.stdout
    assert not (tmp_path / "failure").exists()

    hps.write_text(json.dumps({"ragbot_command": json.dumps(["feedback", "export", "--out", "/tmp/x"])}))
    done = subprocess.run(
        [sys.executable, "-m", "training.sagemaker_entry"],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        tmp_path / "failure"
    ).read_text() == "ragbot_command runs only train, eval or loop commands, not 'feedback'\n"
