"""The README's deploy guide ("Run on AWS") matches the template: one `aws cloudformation deploy`
of it that gives every required parameter, every parameter named, every retained resource in
the tear-down, and the compose command that runs deploy/compose.yaml."""

from __future__ import annotations

import re
import shlex

from tests.deploy import cfn

README = cfn.ROOT / "README.md"


def guide(text: str | None = None) -> str:
    text = README.read_text(encoding="utf-8") if text is None else text
    return text.split("\n## Run on AWS\n", 1)[1].split("\n## ", 1)[0]


def guide_problems(template: dict, text: str) -> list[str]:
    section = guide(text)
    problems = []
    named = set(re.findall(r"`([A-Za-z0-9]+)`", section))
    parameters = template["Parameters"]
    problems += [f"the guide does not name the parameter {p}" for p in parameters if p not in named]
    commands = [
        shlex.split(m.replace("\\\n", " "))
        for m in re.findall(r"^aws cloudformation deploy .*?(?<!\\)$", section, re.M | re.S)
    ]
    if len(commands) != 1:
        return [*problems, f"the guide has {len(commands)} `aws cloudformation deploy` commands, not one"]
    (command,) = commands
    if command[command.index("--template-file") + 1] != str(cfn.TEMPLATE.relative_to(cfn.ROOT)):
        problems.append("the deploy command does not deploy deploy/aws/ragbot.yaml")
    overrides = dict(a.split("=", 1) for a in command[command.index("--parameter-overrides") + 1 :] if "=" in a)
    problems += [f"the deploy command sets {p}, which is not a parameter" for p in overrides if p not in parameters]
    required = [p for p, spec in parameters.items() if "Default" not in spec]
    problems += [f"the deploy command does not give the required {p}" for p in required if p not in overrides]
    teardown = section.split("### Tear it down", 1)[-1].split("\n### ", 1)[0]
    retained = [n for n, r in template["Resources"].items() if r.get("DeletionPolicy") == "Retain"]
    problems += [f"the tear-down does not name the retained {n}" for n in retained if f"`{n}`" not in teardown]
    return problems


def test_the_guide_names_every_parameter_and_deploys_the_template():
    assert guide_problems(cfn.load(), README.read_text(encoding="utf-8")) == []


def test_a_parameter_or_retained_resource_the_guide_misses_is_reported():
    template = cfn.load()
    template["Parameters"]["EndpointMaxInstances"] = {"Type": "Number", "Default": 1}
    template["Parameters"]["DnsZoneId"] = {"Type": "String"}
    template["Resources"]["LogGroup"]["DeletionPolicy"] = "Retain"
    assert guide_problems(template, README.read_text(encoding="utf-8")) == [
        "the guide does not name the parameter EndpointMaxInstances",
        "the guide does not name the parameter DnsZoneId",
        "the deploy command does not give the required DnsZoneId",
        "the tear-down does not name the retained LogGroup",
    ]


def test_the_compose_file_the_guide_runs_exists():
    commands = re.findall(r"docker compose -f (\S+)", guide())
    assert commands and all((cfn.ROOT / path).is_file() for path in commands)
