"""The AWS actions ragbot's code calls, read from the source.

boto3: a module that builds a client for a literal service name (``LazyClient("dynamodb", …)``,
``aws_client("sagemaker", …)``, ``boto3.client("s3")``) makes a *unit* with that service: its
folder when it is the folder's only such module (the DynamoDB store calls through
``table.call("query", …)`` from several files), else the module alone. Every attribute called
and every string constant in the unit that is an operation of the service (botocore's own
model, snake-cased as boto3 names its methods; waiters by their operation) is a call, and
becomes an IAM action.

opensearch-py: the calls on ``….client()`` or a variable named ``client`` in the OpenSearch
store (``indices.create``, ``search``…, and ``helpers.streaming_bulk``), each with the HTTP
methods opensearch-py's own source sends it with: ``es:ESHttp<Method>`` on a domain; on
Serverless ``aoss:APIAccessAll`` and the data-access permission of the API.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "common", "feedback", "rag", "training")
OPENSEARCH_STORE = "rag/stores/opensearch"

# The IAM prefix of a boto3 service.
IAM_PREFIX = {
    "dynamodb": "dynamodb",
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "bedrock": "bedrock",
    "bedrock-runtime": "bedrock",
    "s3": "s3",
    "sts": "sts",
}
# Operations authorised under another action's name (Bedrock's Converse API).
AUTHORISED_AS = {
    ("bedrock-runtime", "Converse"): "bedrock:InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
}
# What an operation needs besides its own action, as ragbot calls it: training/launch.py sends
# Tags (authorised as AddTags) and a RoleArn for SageMaker to assume (iam:PassRole).
ALSO_NEEDS = {"sagemaker:CreateTrainingJob": ("sagemaker:AddTags", "iam:PassRole")}
# Operations a library ragbot hands its client to can make, but only from a method ragbot never
# calls (tests/deploy checks that no ragbot module names it): operation -> that method.
NOT_CALLED = {"langchain_aws.ChatBedrockConverse": {"CountTokens": "get_num_tokens_from_messages"}}
# opensearch-py helpers and the client methods they call.
OPENSEARCH_HELPERS = {"streaming_bulk": ("bulk",), "bulk": ("bulk",), "parallel_bulk": ("bulk",)}
# The Serverless data-access permission of each opensearch-py API; None: ragbot sends it only to
# a domain (cluster_info, refresh and the search pipeline are skipped on Serverless).
AOSS_PERMISSION = {
    "indices.create": "aoss:CreateIndex",
    "indices.put_mapping": "aoss:UpdateIndex",
    "indices.exists": "aoss:DescribeIndex",
    "indices.get_mapping": "aoss:DescribeIndex",
    "search": "aoss:ReadDocument",
    "msearch": "aoss:ReadDocument",
    "count": "aoss:ReadDocument",
    "create_pit": "aoss:ReadDocument",
    "delete_pit": "aoss:ReadDocument",
    "bulk": "aoss:WriteDocument",
    "delete_by_query": "aoss:WriteDocument",
    "info": None,
    "cat.plugins": None,
    "indices.refresh": None,
    "search_pipeline.put": None,
}
_CLIENT_FACTORIES = {"LazyClient", "aws_client", "client", "resource"}


@dataclass(frozen=True)
class Unit:
    """Code that talks to one AWS service: a module, or a folder whose one module builds the client."""

    service: str
    path: str  # relative to the repository root

    def files(self, root: Path = ROOT) -> list[Path]:
        where = root / self.path
        return sorted(where.glob("*.py")) if where.is_dir() else [where]


def _python_files(root: Path) -> list[Path]:
    return [p for package in PACKAGES for p in sorted((root / package).rglob("*.py"))]


@cache
def _services() -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_available_services())


def client_services(path: Path) -> set[str]:
    """Services a module builds a boto3 client for, by literal name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in _CLIENT_FACTORIES and node.args[0].value in _services():
                found.add(node.args[0].value)
    return found


@cache
def units(root: Path = ROOT) -> list[Unit]:
    """Every unit of code that calls an AWS service through boto3."""
    makers: dict[tuple[str, Path], list[str]] = {}
    for path in _python_files(root):
        for service in client_services(path):
            makers.setdefault((service, path.parent), []).append(str(path.relative_to(root)))
    folder_makers: dict[Path, int] = {}
    for (_, folder), paths in makers.items():
        folder_makers[folder] = folder_makers.get(folder, 0) + len(paths)
    found = []
    for (service, folder), paths in makers.items():
        if folder_makers[folder] == 1:
            found.append(Unit(service, str(folder.relative_to(root))))
        else:
            found += [Unit(service, p) for p in paths]
    return sorted(found, key=lambda u: (u.path, u.service))


@cache
def _parsed(path: Path, mtime_ns: int) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _tree(path: Path) -> ast.Module:
    """The module's syntax tree, parsed once while the file is unchanged."""
    return _parsed(path, path.stat().st_mtime_ns)


def _names(path: Path) -> set[str]:
    """Methods called on something named like a client (``self.client.invoke_endpoint(…)``) and
    strings handed to a call first (``table.call("query", …)``, ``get_waiter("table_exists")``)."""
    return _names_in(_tree(path))


def _names_in(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute):
            receiver = _chain(node.func.value) or []
            if any("client" in part.lower() for part in receiver):
                names.add(node.func.attr)
        if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            names.add(node.args[0].value)
    return names


@cache
def delegates(unit: Unit, root: Path = ROOT) -> dict[str, Path]:
    """Library classes the unit hands its client to (``ChatBedrockConverse(client=client)``),
    with the source file that makes the calls for it: ``{"langchain_aws.ChatBedrockConverse": path}``."""
    import importlib

    found = {}
    for path in unit.files(root):
        tree = _tree(path)
        imported = {
            alias.asname or alias.name: f"{node.module}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
            if node.module.split(".")[0] not in PACKAGES
            for alias in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in imported
                and any(k.arg == "client" for k in node.keywords)
            ):
                module, _, name = imported[node.func.id].rpartition(".")
                found[imported[node.func.id]] = Path(
                    inspect.getsourcefile(getattr(importlib.import_module(module), name))
                )
    return found


@cache
def _operations(service: str) -> tuple[dict[str, str], dict[str, str]]:
    """(boto3 method name -> operation, waiter name -> the operation it polls) of a service."""
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    model = session.get_service_model(service)
    methods = {xform_name(op): op for op in model.operation_names}
    waiters = {}
    try:
        waiter_model = session.get_waiter_model(service)
    except Exception:  # noqa: BLE001 - a service without waiters
        waiter_model = None
    if waiter_model is not None:
        for name in waiter_model.waiter_names:
            waiters[xform_name(name)] = waiter_model.get_waiter(name).operation
    return methods, waiters


def operations(unit: Unit, root: Path = ROOT) -> set[str]:
    """The service operations the unit's code calls (``Query``, ``InvokeEndpoint``…), itself or
    through a library it hands the client to (less what ``NOT_CALLED`` says ragbot never reaches)."""
    methods, waiters = _operations(unit.service)

    def found(names: set[str]) -> set[str]:
        return {methods[n] for n in names if n in methods} | {waiters[n] for n in names if n in waiters}

    ops = found(set().union(*(_names(p) for p in unit.files(root))))
    for name, path in delegates(unit, root).items():
        ops |= found(_names(path)) - set(NOT_CALLED.get(name, {}))
    return ops


def call_sites(unit: Unit, root: Path = ROOT) -> dict[str, set[str]]:
    """Operation -> the functions of the unit whose own code calls it (by name, as the call graph)."""
    methods, waiters = _operations(unit.service)
    sites: dict[str, set[str]] = {}
    for path in unit.files(root):
        for function in ast.walk(_tree(path)):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                body = ast.Module(body=function.body, type_ignores=[])
                for name in _names_in(body):
                    op = methods.get(name) or waiters.get(name)
                    if op:
                        sites.setdefault(op, set()).add(function.name)
    return sites


def reachable(unit: Unit, roots: Collection[str], root: Path = ROOT) -> set[str]:
    """Functions of the unit reached from ``roots`` through calls by name (``f()``, ``x.f()``)."""
    graph: dict[str, set[str]] = {}
    for path in unit.files(root):
        for function in ast.walk(_tree(path)):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                called = graph.setdefault(function.name, set())
                for node in ast.walk(function):
                    if isinstance(node, ast.Call):
                        func = node.func
                        called.add(func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", ""))
    seen, todo = set(), [r for r in roots if r in graph]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [c for c in graph.get(name, ()) if c in graph]
    return seen


def actions(unit: Unit, root: Path = ROOT) -> set[str]:
    """The IAM actions the unit's calls need."""
    out = set()
    for op in operations(unit, root):
        action = AUTHORISED_AS.get((unit.service, op), f"{IAM_PREFIX[unit.service]}:{op}")
        out |= {action, *ALSO_NEEDS.get(action, ())}
    return out


# -- opensearch-py ---------------------------------------------------------------------------------


def _chain(node: ast.AST) -> list[str] | None:
    """``self.conn.client().indices.exists`` -> ["self", "conn", "client()", "indices", "exists"]."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Attribute | ast.Name):
                return None
            inner = _chain(node.func)
            if inner is None:
                return None
            inner[-1] += "()"
            return inner + parts[::-1]
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return parts[::-1]
        else:
            return None


@cache
def opensearch_calls(root: Path = ROOT) -> dict[str, set[str]]:
    """opensearch-py API (``indices.create``, ``search``…) -> the files of the store that call it."""
    calls: dict[str, set[str]] = {}
    for path in sorted((root / OPENSEARCH_STORE).glob("*.py")):
        tree = _tree(path)
        inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for target in ast.walk(tree):
            # Called, or a bound method handed to a wrapper (self.index.read(doing, client().search, …));
            # not the `indices` of `client().indices.create`.
            if not isinstance(target, ast.Attribute) or id(target) in inner:
                continue
            chain = _chain(target)
            if not chain:
                continue
            api = None
            if "client()" in chain:
                api = chain[chain.index("client()") + 1 :]
            elif chain[0] == "client":
                api = chain[1:]
            elif chain[0] == "helpers" and len(chain) == 2:
                for method in OPENSEARCH_HELPERS.get(chain[1], (f"helpers.{chain[1]}",)):
                    calls.setdefault(method, set()).add(path.name)
                continue
            if api:
                calls.setdefault(".".join(api), set()).add(path.name)
    return calls


@cache
def http_methods(api: str) -> frozenset[str]:
    """The HTTP methods opensearch-py sends an API with, read from its source.

    Raises KeyError for a name that is not an opensearch-py API.
    """
    from opensearchpy import OpenSearch

    target = OpenSearch(hosts=["http://127.0.0.1:9"])
    for part in api.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise KeyError(f"{api} is not an opensearch-py client API")
    if not callable(target):
        raise KeyError(f"{api} is not an opensearch-py client API")
    source = inspect.getsource(target)
    found = set()
    for match in re.finditer(r"perform_request\(\s*([^,]*),", source):
        found |= set(re.findall(r'"(GET|HEAD|POST|PUT|DELETE)"', match.group(1)))
    if not found:
        raise KeyError(f"no HTTP method found in opensearch-py's {api}")
    return frozenset(found)


def opensearch_actions(service: str, root: Path = ROOT) -> tuple[set[str], set[str]]:
    """(IAM actions, Serverless data-access permissions) the OpenSearch store needs.

    Raises KeyError for an API this module does not know how to authorise on Serverless.
    """
    calls = opensearch_calls(root)
    if service == "es":
        return {f"es:ESHttp{m.title()}" for api in calls for m in http_methods(api)}, set()
    unknown = sorted(set(calls) - set(AOSS_PERMISSION))
    if unknown:
        raise KeyError(f"no Serverless permission known for {unknown}: add them to AOSS_PERMISSION")
    return {"aoss:APIAccessAll"}, {p for api in calls if (p := AOSS_PERMISSION[api])}
