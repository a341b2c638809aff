"""Least privilege, checked against the code: every AWS action a task's code calls (read from the
source by tests/deploy/calls.py) is granted to that task's role, and no role holds more than the
README's IAM table lists. Each check is shown to fail on a copy of the template or of the code
that is broken on purpose."""

from __future__ import annotations

import shutil

import pytest

from tests.deploy import calls, checks, cfn
from tests.deploy.conftest import COMBINATIONS, combination_id


def search_roles(deployment, settings_of) -> set[str]:
    """The roles of the processes that use the OpenSearch store."""
    return {
        p.role
        for p in checks.processes(deployment)
        if "search" in checks.kinds(p.command) and settings_of(p.environment).vector_store == "opensearch"
    }


@pytest.mark.parametrize("parameters", COMBINATIONS, ids=combination_id)
def test_each_role_is_granted_what_its_code_calls_and_nothing_the_readme_does_not_list(
    template_source, parameters, settings_of
):
    deployment = cfn.Deployment(template_source, parameters)
    assert checks.missing_grants(deployment, settings_of) == []
    assert checks.broader_than_readme(deployment) == []
    assert checks.scheduler_problems(deployment) == []
    assert checks.search_policy_problems(deployment, search_roles(deployment, settings_of)) == []


def test_the_processes_and_the_code_they_run(template_source, settings_of):
    """The derivation is not vacuous: each process runs the units its command and settings turn
    on, and each unit yields the actions of its calls."""
    deployment = cfn.Deployment(template_source, {"AnswerModel": "sagemaker"})
    units = {}
    for process in checks.processes(deployment):
        needed = checks.required_actions(settings_of(process.environment), process.command)
        units[process.where] = (process.role, {path for paths in needed.values() for path in paths})
        assert all(needed), process
    assert units == {
        "AppTaskDefinition/ragbot": (
            "AppTaskRole",
            {checks.FEEDBACK_UNITS["dynamodb"], checks.MODEL_UNITS["sagemaker"], calls.OPENSEARCH_STORE},
        ),
        "AppTaskDefinition/outbox": ("AppTaskRole", {checks.FEEDBACK_UNITS["dynamodb"]}),
        "LoopTaskDefinition/ragbot": ("LoopTaskRole", {checks.FEEDBACK_UNITS["dynamodb"], checks.LAUNCH_UNIT}),
        "LoopTaskDefinition/ragbot: its SageMaker job": (
            "TrainingRole",
            {checks.FEEDBACK_UNITS["dynamodb"], checks.MODEL_UNITS["sagemaker"], checks.REGISTRY_UNIT},
        ),
    }
    job = checks.required_actions(settings_of(checks.processes(deployment)[-1].environment), ["ragbot", "loop", "run"])
    # The streamed answer (InvokeEndpointWithResponseStream) is found as well as the plain call.
    assert {"sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"} <= set(job)


def test_a_command_the_checks_do_not_know_is_refused():
    assert checks.kinds(["sh", "-c", "while true; do ragbot feedback flush; sleep 900; done"]) == {"feedback"}
    assert checks.kinds(["ragbot", "loop", "run", "--profile", "full", "--on", "sagemaker"]) == {"feedback", "launch"}
    with pytest.raises(AssertionError, match="does not know what `ragbot synth run` calls"):
        checks.kinds(["ragbot", "synth", "run"])


def test_bedrock_calls_made_through_langchain_aws_are_found_and_one_it_never_reaches_is_named():
    unit = calls.Unit("bedrock-runtime", checks.MODEL_UNITS["bedrock"])
    assert "langchain_aws.ChatBedrockConverse" in calls.delegates(unit)
    assert calls.actions(unit) == {"bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"}
    for methods in calls.NOT_CALLED.values():
        for method in methods.values():
            users = [
                str(p.relative_to(cfn.ROOT))
                for package in calls.PACKAGES
                for p in (cfn.ROOT / package).rglob("*.py")
                if method in p.read_text(encoding="utf-8")
            ]
            assert not users, f"{users} call {method}: grant what it needs and drop it from NOT_CALLED"


def test_the_init_table_calls_are_the_operators_and_the_readme_says_so():
    assert checks.init_table_problems() == []
    listed = checks.readme_iam_table().get("operator", {})
    missing = sorted(checks.INIT_TABLE_ACTIONS - set(listed))
    assert not missing, f"the README's operator row lacks {missing}"


def test_an_init_table_call_on_the_serving_path_is_reported(tmp_path):
    shutil.copytree(cfn.ROOT / "feedback", tmp_path / "feedback", ignore=shutil.ignore_patterns("__pycache__"))
    store = tmp_path / checks.FEEDBACK_UNITS["dynamodb"] / "store.py"
    store.write_text(
        store.read_text(encoding="utf-8")
        + "\n\ndef _everything(table):\n    return table.call('scan', TableName='t')\n",
        encoding="utf-8",
    )
    assert checks.init_table_problems(tmp_path) == [
        "dynamodb:Scan is called by ['_everything'], which init_table does not reach: grant it"
    ]


# -- each check fails when something is broken ----------------------------------------------------------


def policy_statements(template: dict, policy: str) -> list:
    return template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]


def test_a_dropped_action_is_reported_for_every_process_that_needs_it(template, settings_of):
    (table,) = policy_statements(template, "TablePolicy")
    table["Action"].remove("dynamodb:Query")
    problems = checks.missing_grants(cfn.Deployment(template), settings_of)
    assert [p.split(") lacks")[0] for p in problems if "lacks dynamodb:Query" in p] == [
        "AppTaskRole (AppTaskDefinition/ragbot",
        "AppTaskRole (AppTaskDefinition/outbox",
        "LoopTaskRole (LoopTaskDefinition/ragbot",
        "TrainingRole (LoopTaskDefinition/ragbot: its SageMaker job",
    ]


def test_a_new_call_in_the_code_needs_a_new_grant(template_source, settings_of, tmp_path):
    for package in calls.PACKAGES:
        shutil.copytree(cfn.ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    generator = tmp_path / checks.MODEL_UNITS["sagemaker"]
    generator.write_text(
        generator.read_text(encoding="utf-8")
        + "\n\ndef _later(self, location):\n    return self.client.invoke_endpoint_async(InputLocation=location)\n",
        encoding="utf-8",
    )
    deployment = cfn.Deployment(template_source, {"AnswerModel": "sagemaker"})
    assert checks.missing_grants(deployment, settings_of, root=cfn.ROOT) == []
    problems = checks.missing_grants(deployment, settings_of, root=tmp_path)
    assert any(p.startswith("AppTaskRole") and "lacks sagemaker:InvokeEndpointAsync" in p for p in problems), problems


def test_an_init_table_call_granted_to_a_task_is_reported(template, settings_of):
    policy_statements(template, "TablePolicy")[0]["Action"].append("dynamodb:CreateTable")
    problems = checks.missing_grants(cfn.Deployment(template), settings_of)
    assert any("AppTaskRole holds dynamodb:CreateTable" in p for p in problems), problems


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "*"}, "wildcard action '*'"),
        ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}, "wildcard action 'dynamodb:*'"),
        (
            {"Effect": "Allow", "Action": "dynamodb:DeleteItem", "Resource": "x"},
            "dynamodb:DeleteItem, which the README",
        ),
        ({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}, "dynamodb:Query on every resource"),
    ],
)
def test_a_grant_broader_than_the_readme_table_is_reported(template, statement, expected):
    policy_statements(template, "ModelsPolicy").append(statement)
    problems = checks.broader_than_readme(cfn.Deployment(template))
    assert any(p.startswith("AppTaskRole") and expected in p for p in problems), problems


def test_the_readme_table_is_what_the_check_reads():
    text = checks.README.read_text(encoding="utf-8")
    table = checks.readme_iam_table(text)
    assert "dynamodb:Query" in table["AppTaskRole"]
    row = next(line for line in text.splitlines() if line.startswith("|") and "`dynamodb:Query`" in line)
    problems = checks.broader_than_readme(
        cfn.Deployment(cfn.load()), checks.readme_iam_table(text.replace(row, row.replace("`dynamodb:Query`", "")))
    )
    assert any("AppTaskRole is granted dynamodb:Query, which the README" in p for p in problems), problems


def test_a_schedule_that_cannot_start_its_task_is_reported(template):
    run, passing = policy_statements_of_role(template, "SchedulerRole")
    run["Resource"] = [{"Fn::Sub": run["Resource"][0]["Fn::Sub"].replace("-loop:", "-app:")}]
    passing["Resource"] = passing["Resource"][:1]  # the execution role only
    problems = checks.scheduler_problems(cfn.Deployment(template))
    assert problems == [
        "SchedulerRole may not run LoopTaskDefinition (ragbot-loop) for LoopRun",
        "SchedulerRole may not pass {{GetAtt:LoopTaskRole.Arn}} for LoopRun",
    ]


def policy_statements_of_role(template: dict, role: str) -> list:
    return template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_search_policies_missing_a_request_are_reported(template):
    domain = template["Resources"]["Domain"]["Properties"]["AccessPolicies"]["Statement"][0]
    domain["Action"].remove("es:ESHttpDelete")
    problems = checks.search_policy_problems(cfn.Deployment(template), ["AppTaskRole"])
    assert problems == ["the domain's access policy does not allow {{GetAtt:AppTaskRole.Arn}} ['es:ESHttpDelete']"]

    policy = template["Resources"]["SearchDataPolicy"]["Properties"]
    policy["Policy"]["Fn::Sub"] = policy["Policy"]["Fn::Sub"].replace(',"aoss:WriteDocument"', "")
    serverless = cfn.Deployment(template, {"VectorStore": "serverless"})
    problems = checks.search_policy_problems(serverless, ["AppTaskRole"])
    assert problems == [
        "the collection's data access policy does not give {{GetAtt:AppTaskRole.Arn}} ['aoss:WriteDocument']"
    ]
