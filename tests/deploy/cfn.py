"""A CloudFormation template as one deployment would see it: parameters filled in, conditions
decided, intrinsic functions resolved. References to resources stay symbolic (``{{Ref:Table}}``,
``{{GetAtt:Endpoint.EndpointName}}``), so tests can check what points where without AWS."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "aws" / "ragbot.yaml"
TABLE_TEMPLATE = ROOT / "deploy" / "dynamodb-table.yaml"

PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "ragbot",
    "AWS::URLSuffix": "amazonaws.com",
}
# Values for the parameters that have no default, as a team would give them.
REQUIRED = {
    "VpcId": "vpc-0a1b2c3d",
    "PublicSubnetIds": ["subnet-0aaa", "subnet-0bbb"],
    "PrivateSubnetIds": ["subnet-0ccc", "subnet-0ddd"],
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f0f0f0f",
    "AppDomainName": "ragbot.example.com",
}
NO_VALUE = object()


class TemplateError(AssertionError):
    """The template cannot be resolved for these parameters (a bad reference, an unknown function)."""


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain dicts and lists, short-form tags in their long form (cfn-lint's reader)."""
    from cfnlint.decode.decode import decode

    template, errors = decode(str(path))
    if errors:
        raise TemplateError(f"{path} cannot be read: {[str(e) for e in errors]}")
    return json.loads(json.dumps(template))


def lint(template: dict[str, Any] | Path, regions: tuple[str, ...] = ("us-east-1", "eu-west-1")) -> list[str]:
    """cfn-lint's findings (errors, warnings and informational), one line each."""
    from cfnlint.api import ManualArgs, lint as cfn_lint

    text = template.read_text(encoding="utf-8") if isinstance(template, Path) else json.dumps(template)
    matches = cfn_lint(text, config=ManualArgs(regions=list(regions), include_checks=["I"]))
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches]


@dataclass
class Deployment:
    """One stack of ``template`` with ``parameters`` (defaults and REQUIRED fill the rest)."""

    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = set(self.parameters) - set(declared)
        if unknown:
            raise TemplateError(f"no such parameters: {sorted(unknown)}")
        values = {}
        for name, spec in declared.items():
            if name in self.parameters:
                values[name] = self.parameters[name]
            elif "Default" in spec:
                values[name] = spec["Default"]
            elif name in REQUIRED:
                values[name] = REQUIRED[name]
            else:
                raise TemplateError(f"parameter {name} has no default: add a value to cfn.REQUIRED")
            if str(spec.get("Type", "")).startswith("List<") and isinstance(values[name], str):
                values[name] = values[name].split(",")
        self.values = values
        self.conditions: dict[str, bool] = {}
        for name in self.template.get("Conditions", {}):
            self._condition(name)
        self.resources = {
            name: resource
            for name, resource in self.template["Resources"].items()
            if "Condition" not in resource or self._condition(resource["Condition"])
        }

    # -- resolution -------------------------------------------------------------------------

    def _condition(self, name: str) -> bool:
        if name not in self.conditions:
            try:
                self.conditions[name] = bool(self._evaluate(self.template["Conditions"][name]))
            except KeyError as e:
                raise TemplateError(f"no condition {name}") from e
        return self.conditions[name]

    def _evaluate(self, node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((key, value),) = node.items()
            if key == "Fn::Equals":
                a, b = (self.resolve(v) for v in value)
                return a == b
            if key == "Fn::Not":
                return not self._evaluate(value[0])
            if key == "Fn::And":
                return all(self._evaluate(v) for v in value)
            if key == "Fn::Or":
                return any(self._evaluate(v) for v in value)
            if key == "Condition":
                return self._condition(value)
        raise TemplateError(f"not a condition: {node!r}")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO:
            return PSEUDO[name]
        if name in self.values:
            return self.values[name]
        return f"{{{{Ref:{self._present(name)}}}}}"

    def _present(self, name: str) -> str:
        if name not in self.template["Resources"]:
            raise TemplateError(f"reference to {name}, which the template does not define")
        if name not in self.resources:
            raise TemplateError(f"reference to {name}, which this deployment does not create (its condition is false)")
        return name

    def _getatt(self, value: Any) -> str:
        resource, attribute = value.split(".", 1) if isinstance(value, str) else value
        return f"{{{{GetAtt:{self._present(resource)}.{self.resolve(attribute)}}}}}"

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else value
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self._getatt(name)
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, node: Any) -> Any:
        """``node`` with every intrinsic function applied; ``NO_VALUE`` where it is AWS::NoValue."""
        if isinstance(node, list):
            return [v for v in (self.resolve(n) for n in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Fn::GetAtt":
                return self._getatt(value)
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::If":
                condition, yes, no = value
                return self.resolve(yes if self._condition(condition) else no)
            if key == "Fn::Join":
                separator, items = value
                return self.resolve(separator).join(str(i) for i in self.resolve(items))
            if key == "Fn::Select":
                index, items = value
                return self.resolve(items)[int(self.resolve(index))]
            if key.startswith("Fn::"):
                raise TemplateError(f"{key} is not resolved by tests/deploy/cfn.py; teach it")
        return {k: r for k, v in node.items() if (r := self.resolve(v)) is not NO_VALUE}

    # -- what tests look at -----------------------------------------------------------------

    def properties(self, name: str) -> dict[str, Any]:
        """A resource's properties, resolved. Raises KeyError when this deployment lacks it."""
        return self.resolve(self.resources[name].get("Properties", {}))

    def of_type(self, kind: str) -> list[str]:
        return [name for name, r in self.resources.items() if r["Type"] == kind]

    def containers(self, task_definition: str) -> dict[str, dict[str, Any]]:
        """The containers of a task definition by name."""
        return {c["Name"]: c for c in self.properties(task_definition)["ContainerDefinitions"]}

    def container(self, task_definition: str, name: str = "ragbot") -> dict[str, Any]:
        return self.containers(task_definition)[name]

    def environment(self, task_definition: str, container: str = "ragbot") -> dict[str, str]:
        pairs = self.container(task_definition, container).get("Environment", [])
        names = [p["Name"] for p in pairs]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise TemplateError(f"{task_definition}'s {container} sets {duplicated} twice")
        return {p["Name"]: str(p["Value"]) for p in pairs}

    def task_role(self, task_definition: str) -> str:
        """The logical name of a task definition's task role."""
        return _logical(self.properties(task_definition)["TaskRoleArn"])

    def statements(self, role: str) -> list[dict[str, Any]]:
        """Every Allow/Deny statement of a role: inline policies and the template's managed
        policies attached to it (through the role's ManagedPolicyArns or the policy's Roles)."""
        props = self.properties(role)
        documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        attached = {_logical(arn) for arn in props.get("ManagedPolicyArns", [])}
        for policy in self.of_type("AWS::IAM::ManagedPolicy") + self.of_type("AWS::IAM::Policy"):
            policy_props = self.properties(policy)
            if policy in attached or role in {_logical(r) for r in policy_props.get("Roles", [])}:
                documents.append(policy_props["PolicyDocument"])
        unknown = attached - set(self.resources)
        if unknown:
            raise TemplateError(f"{role} attaches policies this test does not see: {sorted(unknown)}")
        return [s for d in documents for s in _listed(d["Statement"])]

    def granted(self, role: str) -> dict[str, list[Any]]:
        """Action -> the resources an Allow statement of the role grants it on."""
        out: dict[str, list[Any]] = {}
        for statement in self.statements(role):
            if statement.get("Effect") == "Allow":
                for action in _listed(statement.get("Action", [])):
                    out.setdefault(action, []).extend(_listed(statement.get("Resource", [])))
        return out


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _logical(value: str) -> str:
    """The logical name inside a symbolic reference: ``{{GetAtt:AppTaskRole.Arn}}`` -> AppTaskRole."""
    match = re.fullmatch(r"\{\{(?:Ref|GetAtt):([A-Za-z0-9]+)(?:\.[A-Za-z.]+)?\}\}", value)
    if not match:
        raise TemplateError(f"{value!r} is not a reference to a resource of the template")
    return match.group(1)
