"""The variables the template gives each container are settings ragbot reads (names taken from
the settings classes: their env prefix and aliases), they validate, and they point at what the
stack made: the table, the search endpoint, the model, the load balancer that signs the headers,
the training role and bucket."""

from __future__ import annotations

import re

import pytest

from tests.deploy import checks, cfn
from tests.deploy.conftest import COMBINATIONS, combination_id, settings_env

MOUNT = "/data"


def expected_wiring(deployment: cfn.Deployment) -> dict[str, object]:
    """What every container that talks to the backends must be set to, in this deployment."""
    domain = "Domain" in deployment.resources
    sagemaker = "Endpoint" in deployment.resources
    return {
        "feedback_store": "dynamodb",
        "dynamodb_table": "{{Ref:FeedbackTable}}",
        "vector_store": "opensearch",
        "opensearch_url": "https://{{GetAtt:Domain.DomainEndpoint}}"
        if domain
        else "{{GetAtt:Collection.CollectionEndpoint}}",
        "opensearch_auth": "sigv4",
        "opensearch_service": "es" if domain else "aoss",
        "generator": "sagemaker" if sagemaker else "bedrock",
        "sagemaker_endpoint": "{{GetAtt:Endpoint.EndpointName}}" if sagemaker else None,
        "bedrock_model": deployment.values["BedrockModelId"],
        "judge_backend": "bedrock" if deployment.values["JudgeBedrockModelId"] else None,
        "judge_bedrock_model": deployment.values["JudgeBedrockModelId"] or None,
    }


def wiring_problems(deployment: cfn.Deployment, settings_of) -> list[str]:
    problems = []
    wiring = expected_wiring(deployment)
    for task in deployment.of_type("AWS::ECS::TaskDefinition"):
        for name, container in deployment.containers(task).items():
            where = f"{task}/{name}"
            env = deployment.environment(task, name)
            problems += checks.unknown_variables(env, where)
            mounts = {m["ContainerPath"] for m in container.get("MountPoints", [])}
            if env.get("RAGBOT_HOME") not in mounts:
                problems.append(f"{where}: RAGBOT_HOME={env.get('RAGBOT_HOME')} is not its volume ({sorted(mounts)})")
            settings = settings_of(env)
            # The outbox flush needs the table only; the app and the loop need everything.
            keys = ("feedback_store", "dynamodb_table") if name == "outbox" else tuple(wiring)
            for key in keys:
                if getattr(settings, key) != wiring[key]:
                    problems.append(f"{where}: {key} is {getattr(settings, key)!r}, not {wiring[key]!r}")
            if command_port(container) is not None:
                identity = (settings.auth, settings.proxy_mode, settings.alb_arn)
                if identity != ("proxy", "alb", "{{Ref:LoadBalancer}}"):
                    problems.append(f"{where}: sign-in is {identity}, not the ALB's signed header")
            elif settings.auth != "none" or settings.role != "admin":
                problems.append(f"{where}: a job runs the command line as admin with RAGBOT_AUTH=none")
    return problems


def command_port(container: dict) -> int | None:
    command = container["Command"]
    return int(command[command.index("--port") + 1]) if "--port" in command else None


@pytest.mark.parametrize("parameters", COMBINATIONS, ids=combination_id)
def test_every_container_is_set_up_for_the_stack_it_runs_in(template_source, parameters, settings_of):
    assert wiring_problems(cfn.Deployment(template_source, parameters), settings_of) == []


def test_the_loops_training_settings_name_the_role_bucket_and_image_the_stack_made(template_source, tmp_path):
    from training.launch import LaunchSettings

    deployment = cfn.Deployment(template_source)
    env = deployment.environment("LoopTaskDefinition")
    bucket = deployment.properties("ArtifactsBucket")["BucketName"]
    # LaunchSettings checks the S3 URIs' form, so give the bucket its real name.
    env = {k: v.replace("{{Ref:ArtifactsBucket}}", bucket) for k, v in env.items()}
    with settings_env(env, tmp_path):
        launch = LaunchSettings()
    assert launch.role_arn == "{{GetAtt:TrainingRole.Arn}}"
    assert launch.image_uri == deployment.container("AppTaskDefinition")["Image"]
    granted = deployment.granted("TrainingRole")
    bucket_arn = "{{GetAtt:ArtifactsBucket.Arn}}"
    data, output = (re.sub(f"^s3://{bucket}/", f"{bucket_arn}/", u) for u in (launch.data_s3, launch.output_s3))
    assert f"{data}*" in granted["s3:GetObject"] and f"{output}*" in granted["s3:PutObject"]
    jobs = deployment.granted("LoopTaskRole")["sagemaker:CreateTrainingJob"]
    assert jobs == [f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{launch.job_prefix}-*"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"RAGBOT_GENERATR": "bedrock"}, "RAGBOT_GENERATR is not a setting"),
        ({"RAGBOT_DYNAMODB_TABLE": None}, "dynamodb_table is 'ragbot-feedback', not '{{Ref:FeedbackTable}}'"),
        ({"RAGBOT_OPENSEARCH_SERVICE": None}, "opensearch_service is 'es', not 'aoss'"),
        ({"RAGBOT_ALB_ARN": None}, "sign-in is ('proxy', 'alb', None)"),
        ({"RAGBOT_HOME": "/home/ragbot"}, "RAGBOT_HOME=/home/ragbot is not its volume"),
    ],
)
def test_a_variable_dropped_renamed_or_misplaced_is_reported(template, settings_of, change, expected):
    container = template["Resources"]["AppTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    env = container["Environment"]
    for name, value in change.items():
        kept = [e for e in env if not (isinstance(e, dict) and e.get("Name") == name)]
        env[:] = kept + ([{"Name": name, "Value": value}] if value is not None else [])
    problems = wiring_problems(cfn.Deployment(template, {"VectorStore": "serverless"}), settings_of)
    assert any(p.startswith("AppTaskDefinition/ragbot") and expected in p for p in problems), problems


def test_a_value_the_settings_refuse_fails_there(template, settings_of):
    from pydantic import ValidationError

    template["Parameters"]["AnswerModel"]["AllowedValues"].append("sagemkr")
    with pytest.raises(ValidationError, match="generator"):
        wiring_problems(cfn.Deployment(template, {"AnswerModel": "sagemkr"}), settings_of)


def test_variable_names_are_read_from_the_settings_classes():
    from app.config import Settings

    names = checks.env_names()
    assert names["RAGBOT_TOP_K"] == (Settings, "top_k")
    assert names["OPENSEARCH_URL"] == names["RAGBOT_OPENSEARCH_URL"] == (Settings, "opensearch_url")
    assert names["RAGBOT_SAGEMAKER_TRAINING_ROLE_ARN"][1] == "role_arn"
    assert len([n for n, (cls, _) in names.items() if cls is Settings]) >= len(Settings.model_fields)
