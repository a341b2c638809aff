"""``ragbot train launch --on sagemaker -- <train command>``: the same job as a SageMaker training job.

The job runs the given ``ragbot train …`` command inside a container image that has ragbot
installed (the project's Dockerfile, pushed to ECR), on a GPU instance, with the profile the
command names (``--profile full``). SageMaker copies the ``data`` input channel from S3 to
``/opt/ml/input/data/data`` and uploads ``/opt/ml/model`` to S3 at the end, so the command's
``--data`` and ``--out`` are rewritten to those paths; the command itself travels as the
hyperparameter ``ragbot_command`` (a JSON list) that the image's entry point runs. Spot capacity
is used by default, with ``MaxWaitTimeInSeconds`` bounding the wait plus the run, and a
checkpoint S3 location so an interrupted spot job resumes from its last checkpoint.

Settings come from ``RAGBOT_SAGEMAKER_TRAINING_*`` variables (``LaunchSettings``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from training.errors import LaunchError

DATA_DIR = "/opt/ml/input/data/data"
MODEL_DIR = "/opt/ml/model"
CHECKPOINT_DIR = "/opt/ml/checkpoints"
_S3 = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")


class LaunchSettings(BaseSettings):
    """Where and how the training job runs."""

    model_config = SettingsConfigDict(env_prefix="RAGBOT_SAGEMAKER_TRAINING_")

    role_arn: str = Field(description="IAM role SageMaker assumes (reads the data, writes the output).")
    image_uri: str = Field(description="ECR image with ragbot installed (the project's Dockerfile).")
    data_s3: str | None = Field(
        default=None,
        description="S3 prefix of the dataset folder (ragbot train dataset's --out, uploaded); not for loop jobs.",
    )
    output_s3: str = Field(description="S3 prefix the trained model is written under.")
    instance_type: str = Field(default="ml.g5.2xlarge", description="Instance type (a GPU for --profile full).")
    instance_count: int = Field(default=1, ge=1)
    volume_gb: int = Field(default=100, ge=1, le=16384)
    spot: bool = Field(default=True, description="Use managed spot capacity (resumes from checkpoints).")
    max_runtime_s: int = Field(default=24 * 3600, ge=60, le=28 * 24 * 3600)
    max_wait_s: int | None = Field(
        default=None, description="Spot: wait plus run at most (default: twice the runtime)."
    )
    region: str | None = Field(default=None, description="Overrides the AWS SDK's region.")
    job_prefix: str = Field(default="ragbot", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9\-]{0,30}$")

    @model_validator(mode="after")
    def _check(self) -> LaunchSettings:
        for name in ("data_s3", "output_s3"):
            if getattr(self, name) is not None and not _S3.match(getattr(self, name)):
                raise ValueError(f"{name} must be an s3://bucket/prefix URI, not {getattr(self, name)!r}")
        if self.max_wait_s is not None and self.max_wait_s < self.max_runtime_s:
            raise ValueError("max_wait_s must be at least max_runtime_s")
        return self


def container_command(command: Sequence[str]) -> list[str]:
    """``command`` (``train sft --data DIR --out OUT …``) with ``--data`` and ``--out`` pointing at
    SageMaker's input channel and model folder.

    Raises:
        LaunchError: it is not a ``train`` command other than ``launch``, or lacks ``--out``.
    """
    args = list(command)
    if args[:1] == ["ragbot"]:
        args = args[1:]
    if len(args) < 2 or args[0] != "train" or args[1] in ("launch", "dataset"):
        raise LaunchError(
            f"give the train command to run after --, like: -- train sft --data DIR --out OUT (not {' '.join(args)!r})"
        )
    if "--out" not in args:
        raise LaunchError("the train command needs --out (it becomes the job's model folder)")
    out = []
    skip = False
    for i, a in enumerate(args):
        if skip:
            skip = False
            continue
        if a in ("--data", "--out") and i + 1 < len(args):
            out += [a, DATA_DIR if a == "--data" else MODEL_DIR]
            skip = True
        else:
            out.append(a)
    return out


def training_job_request(command: Sequence[str], settings: LaunchSettings, job_name: str | None = None) -> dict:
    """The ``CreateTrainingJob`` request for ``command``. Raises LaunchError."""
    args = container_command(command)
    if settings.data_s3 is None:
        raise LaunchError("a train job reads its dataset from S3: set RAGBOT_SAGEMAKER_TRAINING_DATA_S3")
    name = job_name or f"{settings.job_prefix}-{args[1]}-{time.strftime('%Y%m%d-%H%M%S')}"
    request = _request(name, args, settings)
    request["InputDataConfig"] = [
        {
            "ChannelName": "data",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": settings.data_s3,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "InputMode": "File",
        }
    ]
    return request


LOOP_HOME = f"{CHECKPOINT_DIR}/ragbot-home"
"""RAGBOT_HOME of a loop job: under the checkpoint folder, which SageMaker syncs with one S3 prefix
shared by every loop job (``loop_home_s3``): a job starts with the last one's runs, evaluation sets
and registry (so "nothing new" holds across jobs), and a spot job that is interrupted comes back
with its run's state and the trainers' checkpoints and resumes."""


def loop_home_s3(settings: LaunchSettings) -> str:
    return f"{settings.output_s3.rstrip('/')}/{settings.job_prefix}-loop/home"


def loop_job_request(
    args: Sequence[str], settings: LaunchSettings, environment: dict[str, str], job_name: str | None = None
) -> dict:
    """The ``CreateTrainingJob`` request that runs ``ragbot loop run ARGS`` in one job: the loop
    reads the feedback store itself (no input channel), keeps its state under ``LOOP_HOME`` and
    copies the candidate to the model folder; ``environment`` carries the installation's settings.
    Raises LaunchError."""
    name = job_name or f"{settings.job_prefix}-loop-{time.strftime('%Y%m%d-%H%M%S')}"
    command = ["loop", "run", *args, "--export", MODEL_DIR]
    request = _request(name, command, settings)
    request["Environment"] = environment | {
        "RAGBOT_HOME": LOOP_HOME,
        "RAGBOT_LOOP_MODEL_DATA_URL": f"{settings.output_s3.rstrip('/')}/{name}/output/model.tar.gz",
    }
    request["CheckpointConfig"] = {"S3Uri": loop_home_s3(settings), "LocalPath": CHECKPOINT_DIR}
    return request


def start_loop(request: dict, settings: LaunchSettings, client=None) -> str:
    """Start a loop job unless another is still running (they share one RAGBOT_HOME in S3, where
    the local lock cannot reach); returns its ARN. Raises LaunchError naming the running job."""
    client = client or _client(settings)
    try:
        running = client.list_training_jobs(
            NameContains=f"{settings.job_prefix}-loop-", StatusEquals="InProgress", MaxResults=10
        )["TrainingJobSummaries"]
    except Exception as e:
        from common.aws import error_text, is_aws_error

        if is_aws_error(e):
            raise LaunchError(f"SageMaker cannot list the running loop jobs: {error_text(e)}") from e
        raise
    if running:
        raise LaunchError(
            f"the loop job {running[0]['TrainingJobName']} is still running: two loop runs never overlap; "
            "wait for it or stop it"
        )
    return start(request, settings, client)


def _request(name: str, args: list[str], settings: LaunchSettings) -> dict:
    """What every job request shares: image, role, command, output, resources, spot."""
    request = {
        "TrainingJobName": name,
        "RoleArn": settings.role_arn,
        "AlgorithmSpecification": {"TrainingImage": settings.image_uri, "TrainingInputMode": "File"},
        "HyperParameters": {"ragbot_command": json.dumps(args)},
        "OutputDataConfig": {"S3OutputPath": settings.output_s3},
        "ResourceConfig": {
            "InstanceType": settings.instance_type,
            "InstanceCount": settings.instance_count,
            "VolumeSizeInGB": settings.volume_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_s},
        "EnableManagedSpotTraining": settings.spot,
        "Tags": [{"Key": "ragbot:command", "Value": " ".join(args)[:256]}],
    }
    if settings.spot:
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings.max_wait_s or 2 * settings.max_runtime_s
        request["CheckpointConfig"] = {
            "S3Uri": f"{settings.output_s3.rstrip('/')}/{name}/checkpoints",
            "LocalPath": CHECKPOINT_DIR,
        }
    return request


def launch(command: Sequence[str], settings: LaunchSettings, client=None, job_name: str | None = None) -> str:
    """Start the training job; returns its ARN. ``client``: a boto3 SageMaker client (made from
    ``settings.region`` and the SDK's chain when None). Raises LaunchError."""
    return start(training_job_request(command, settings, job_name), settings, client)


def start(request: dict, settings: LaunchSettings, client=None) -> str:
    """Send a ``CreateTrainingJob`` request; returns the job's ARN. Raises LaunchError."""
    client = client or _client(settings)
    try:
        return client.create_training_job(**request)["TrainingJobArn"]
    except Exception as e:
        from common.aws import error_text, is_aws_error

        if is_aws_error(e):
            raise LaunchError(
                f"SageMaker refused the training job {request['TrainingJobName']}: {error_text(e)}"
            ) from e
        raise


def _client(settings: LaunchSettings):
    from common.aws import ClientOptions, aws_client

    return aws_client("sagemaker", ClientOptions(region=settings.region), error=LaunchError)
