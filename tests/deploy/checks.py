"""The consistency checks of deploy/: each returns the problems it finds (empty when all is well),
so a test can run it on the real files and on a copy broken on purpose."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from tests.deploy import calls
from tests.deploy.cfn import ROOT, Deployment

README = ROOT / "README.md"

# Which backend module a setting turns on (paths as tests/deploy/calls.py names units).
MODEL_UNITS = {"sagemaker": "rag/generators/sagemaker.py", "bedrock": "rag/generators/bedrock.py"}
EMBEDDER_UNITS = {"sagemaker": "rag/embedders/sagemaker.py", "bedrock": "rag/embedders/bedrock.py"}
FEEDBACK_UNITS = {"dynamodb": "feedback/stores/dynamodb"}
LAUNCH_UNIT = "training/launch.py"
# The SageMaker Model Registry: a loop run inside a SageMaker job registers its candidate there
# (app/services/loop.py, when RAGBOT_LOOP_MODEL_DATA_URL is set, as training/launch.py sets it).
REGISTRY_UNIT = "training/sagemaker_registry.py"
# What each command of the task definitions does that reaches AWS (app/cli). Every command may
# write the audit log, which lives in the feedback store.
COMMANDS = {
    "app": {"feedback", "models", "embedder", "search"},
    "feedback flush": {"feedback"},
    "loop run --on sagemaker": {"feedback", "launch"},
    "loop run": {"feedback", "models", "embedder", "registry"},
    "train launch": {"feedback", "launch"},
}
# `ragbot feedback init-table` creates and upgrades the table; an operator runs it once (the
# template makes the table itself), so no task role may make these calls. init_table_problems()
# checks that only code init_table reaches makes them.
INIT_TABLE = "init_table"
INIT_TABLE_ACTIONS = frozenset(
    {
        "dynamodb:CreateTable",
        "dynamodb:UpdateTable",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:Scan",
    }
)
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+$")


def settings_classes(root: Path = ROOT) -> list[type[BaseSettings]]:
    """ragbot's settings classes, found in the code: every ``BaseSettings`` subclass that no other
    one extends (a base's fields are read through the class that extends it)."""
    import importlib
    import inspect

    found: set[type] = set()
    for package in calls.PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "BaseSettings" in path.read_text(encoding="utf-8"):
                module = importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
                found |= {
                    c
                    for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, BaseSettings) and c is not BaseSettings and c.__module__ == module.__name__
                }
    return sorted((c for c in found if not any(o is not c and issubclass(o, c) for o in found)), key=str)


def env_names(classes: Iterable[type[BaseSettings]] | None = None) -> dict[str, tuple[type, str]]:
    """Every environment variable the settings classes read (upper-cased) -> (class, field), from
    each class's own env prefix and validation aliases."""
    from pydantic import AliasChoices

    names: dict[str, tuple[type, str]] = {}
    for cls in classes or settings_classes():
        prefix = cls.model_config.get("env_prefix", "")
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices):
                variables = [c for c in alias.choices if isinstance(c, str)]
            elif isinstance(alias, str):
                variables = [alias]
            else:
                variables = [prefix + name]
            for variable in variables:
                names[variable.upper()] = (cls, name)
    return names


def unknown_variables(environment: Mapping[str, str], where: str) -> list[str]:
    """``RAGBOT_*`` variables that no settings class reads (a typo, a setting that was renamed)."""
    known = env_names()
    return [
        f"{where}: {name} is not a setting of {', '.join(c.__name__ for c in settings_classes())}"
        for name in environment
        if name.upper().startswith("RAGBOT_") and name.upper() not in known
    ]


# -- which code each process runs, and what it needs ---------------------------------------------------


@dataclass
class Process:
    """Something that runs ragbot with a role: a task's container, or the SageMaker job one starts."""

    where: str
    role: str
    environment: dict[str, str]
    command: list[str]


def cli_words(command: list[str]) -> str:
    """``ragbot loop run --on sagemaker`` -> "loop run --on sagemaker"; a shell loop's ragbot command too."""
    text = " ".join(command)
    if command[:1] != ["ragbot"]:
        found = re.search(r"\bragbot ([^;&|]*)", text)
        text = f"ragbot {found.group(1)}" if found else ""
    return text.removeprefix("ragbot ").strip()


def kinds(command: list[str]) -> set[str]:
    """What a ragbot command reaches (COMMANDS), by its subcommand and ``--on sagemaker``.

    Raises AssertionError for a command COMMANDS does not know."""
    words = cli_words(command)
    lead = words.split()
    for n in (2, 1):
        key = " ".join(lead[:n])
        if "--on sagemaker" in words and f"{key} --on sagemaker" in COMMANDS:
            return COMMANDS[f"{key} --on sagemaker"]
        if key in COMMANDS:
            return COMMANDS[key]
    raise AssertionError(f"tests/deploy/checks.py does not know what `ragbot {words}` calls: add it to COMMANDS")


def processes(deployment: Deployment) -> list[Process]:
    """Every container of the task definitions, and for a container that starts a loop job on
    SageMaker, that job: run as the role RAGBOT_SAGEMAKER_TRAINING_ROLE_ARN names, with the
    container's settings (training/launch.py forwards them) and the model's S3 URL."""
    found = []
    for task in deployment.of_type("AWS::ECS::TaskDefinition"):
        role = deployment.task_role(task)
        for name, container in deployment.containers(task).items():
            environment = deployment.environment(task, name)
            command = container["Command"]
            found.append(Process(f"{task}/{name}", role, environment, command))
            if "launch" in kinds(command) and cli_words(command).startswith("loop run"):
                job_role = re.fullmatch(r"\{\{GetAtt:(\w+)\.Arn\}\}", environment["RAGBOT_SAGEMAKER_TRAINING_ROLE_ARN"])
                job = {k: v for k, v in environment.items() if k.startswith("RAGBOT_") and k != "RAGBOT_HOME"}
                job["RAGBOT_LOOP_MODEL_DATA_URL"] = "s3://bucket/models/job/output/model.tar.gz"
                found.append(
                    Process(f"{task}/{name}: its SageMaker job", job_role.group(1), job, ["ragbot", "loop", "run"])
                )
    return found


def units_run(settings: Any, command: list[str]) -> set[str]:
    """The AWS-calling units a process with these settings runs for ``command``."""
    reach = kinds(command)
    found = set()
    if "feedback" in reach and settings.feedback_store in FEEDBACK_UNITS:
        found.add(FEEDBACK_UNITS[settings.feedback_store])
    if "models" in reach:
        judge = settings.judge_backend or settings.generator
        found |= {
            MODEL_UNITS[b] for b in {settings.generator, judge, settings.synth_backend or judge} if b in MODEL_UNITS
        }
    if "embedder" in reach and settings.embedding_backend in EMBEDDER_UNITS:
        found.add(EMBEDDER_UNITS[settings.embedding_backend])
    if "launch" in reach:
        found.add(LAUNCH_UNIT)
    if "registry" in reach and getattr(settings, "loop_model_data_url", None):
        found.add(REGISTRY_UNIT)
    return found


def required_actions(settings: Any, command: list[str], root: Path = ROOT) -> dict[str, set[str]]:
    """IAM action -> the code that needs it, for one process (its settings and command)."""
    by_path = {u.path: u for u in calls.units(root)}
    needed: dict[str, set[str]] = {}
    for path in units_run(settings, command):
        if path not in by_path:
            raise AssertionError(
                f"{path} makes no AWS client any more (moved?): update tests/deploy/checks.py; "
                f"units now: {sorted(by_path)}"
            )
        skip = INIT_TABLE_ACTIONS if path in FEEDBACK_UNITS.values() else set()
        for action in calls.actions(by_path[path], root) - skip:
            needed.setdefault(action, set()).add(path)
    if "search" in kinds(command) and settings.vector_store == "opensearch":
        iam, _ = calls.opensearch_actions(settings.opensearch_service, root)
        for action in iam:
            needed.setdefault(action, set()).add(calls.OPENSEARCH_STORE)
    return needed


def missing_grants(deployment: Deployment, settings_of: Any, root: Path = ROOT) -> list[str]:
    """Actions a process calls that its role is not granted, and roles that hold the init-table
    calls. ``settings_of(environment)`` builds Settings from a process's environment."""
    problems = []
    for process in processes(deployment):
        granted = deployment.granted(process.role)
        needed = required_actions(settings_of(process.environment), process.command, root)
        for action, where in sorted(needed.items()):
            if action not in granted:
                problems.append(f"{process.role} ({process.where}) lacks {action}, called by {sorted(where)}")
    for role in deployment.of_type("AWS::IAM::Role"):
        for action in sorted(INIT_TABLE_ACTIONS & set(deployment.granted(role))):
            problems.append(f"{role} holds {action}, which only `ragbot feedback init-table` calls")
    return problems


def init_table_problems(root: Path = ROOT) -> list[str]:
    """The init-table actions are called, and only from functions ``init_table`` reaches."""
    unit = calls.Unit("dynamodb", FEEDBACK_UNITS["dynamodb"])
    sites = calls.call_sites(unit, root)
    operator = calls.reachable(unit, [INIT_TABLE], root)
    problems = []
    for action in sorted(INIT_TABLE_ACTIONS):
        where = sites.get(action.split(":")[1], set())
        if not where:
            problems.append(f"{action} is no longer called: drop it from INIT_TABLE_ACTIONS")
        elif where - operator:
            problems.append(
                f"{action} is called by {sorted(where - operator)}, which {INIT_TABLE} does not reach: grant it"
            )
    return problems


def scheduler_problems(deployment: Deployment) -> list[str]:
    """Each schedule's role may run its task definition and pass that task's roles."""
    problems = []
    for schedule in deployment.of_type("AWS::Scheduler::Schedule"):
        target = deployment.properties(schedule)["Target"]
        role = re.search(r"\{\{GetAtt:(\w+)\.Arn\}\}", target["RoleArn"]).group(1)
        granted = deployment.granted(role)
        task = re.search(r"\{\{Ref:(\w+)\}\}", target["EcsParameters"]["TaskDefinitionArn"]).group(1)
        family = deployment.properties(task)["Family"]
        if not any(r.rsplit("/", 1)[-1].startswith(f"{family}:") for r in granted.get("ecs:RunTask", [])):
            problems.append(f"{role} may not run {task} ({family}) for {schedule}")
        props = deployment.properties(task)
        for passed in (props["TaskRoleArn"], props["ExecutionRoleArn"]):
            if passed not in granted.get("iam:PassRole", []):
                problems.append(f"{role} may not pass {passed} for {schedule}")
    return problems


# -- the README's IAM table -----------------------------------------------------------------------------


def readme_iam_table(text: str | None = None) -> dict[str, dict[str, list[str]]]:
    """``| role | used by | actions | resources |`` rows of the README's IAM table (the one whose
    header starts ``| role``) -> {role: {action: [resource cells]}}."""
    text = README.read_text(encoding="utf-8") if text is None else text
    table: dict[str, dict[str, list[str]]] = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("| role "):
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        if not in_table or set(line) <= set("|- "):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) < 4:
            continue
        roles = re.findall(r"`([A-Za-z]+)`", cells[0]) or [cells[0]]
        actions = [a for a in re.findall(r"`([^`]+)`", cells[2]) if ACTION.match(a)]
        for role in roles:
            for action in actions:
                table.setdefault(role, {}).setdefault(action, []).append(cells[3])
    return table


def broader_than_readme(deployment: Deployment, table: dict[str, dict[str, list[str]]] | None = None) -> list[str]:
    """Grants the README's IAM table does not list for that role: an action it does not name, a
    wildcard action, or ``Resource: "*"`` where the table does not say `*`."""
    table = readme_iam_table() if table is None else table
    problems = []
    for role in deployment.of_type("AWS::IAM::Role"):
        listed = table.get(role, {})
        for action, resources in sorted(deployment.granted(role).items()):
            if "*" in action:
                problems.append(f"{role} is granted the wildcard action {action!r}")
            elif action not in listed:
                problems.append(f"{role} is granted {action}, which the README's IAM table does not list for it")
            elif "*" in resources and not any("`*`" in cell for cell in listed[action]):
                problems.append(f"{role} is granted {action} on every resource; the README's table does not say `*`")
    return problems


# -- the OpenSearch resource policies ---------------------------------------------------------------------


def search_policy_problems(deployment: Deployment, roles: Iterable[str], root: Path = ROOT) -> list[str]:
    """The domain's access policy, or the collection's data-access policy, lets ``roles`` make
    every request the OpenSearch store sends."""
    import json

    problems = []
    roles = sorted(roles)
    arns = {f"{{{{GetAtt:{r}.Arn}}}}" for r in roles}
    if "Domain" in deployment.resources:
        needed, _ = calls.opensearch_actions("es", root)
        allowed: dict[str, set[str]] = {}
        for statement in deployment.properties("Domain")["AccessPolicies"]["Statement"]:
            if statement["Effect"] == "Allow":
                principals = statement["Principal"]["AWS"]
                for principal in principals if isinstance(principals, list) else [principals]:
                    actions = statement["Action"]
                    allowed.setdefault(principal, set()).update(actions if isinstance(actions, list) else [actions])
        for arn in sorted(arns):
            missing = sorted(needed - allowed.get(arn, set()))
            if missing:
                problems.append(f"the domain's access policy does not allow {arn} {missing}")
    if "Collection" in deployment.resources:
        _, needed = calls.opensearch_actions("aoss", root)
        granted: dict[str, set[str]] = {}
        for policy in deployment.of_type("AWS::OpenSearchServerless::AccessPolicy"):
            for rule_set in json.loads(deployment.properties(policy)["Policy"]):
                for principal in rule_set["Principal"]:
                    for rule in rule_set["Rules"]:
                        if rule["ResourceType"] == "index":
                            granted.setdefault(principal, set()).update(rule["Permission"])
        concrete = {deployment.resolve({"Fn::GetAtt": [r, "Arn"]}) for r in roles}
        for arn in sorted(concrete):
            missing = sorted(needed - granted.get(arn, set()))
            if missing:
                problems.append(f"the collection's data access policy does not give {arn} {missing}")
    return problems
