"""infra/main.bicep, checked offline on every test run.

No Bicep compiler installs from the registries this project uses: the Bicep CLI is a .NET
binary from GitHub releases (NuGet for .NET), and the npm wrapper `bicep-node` and the Azure
CLI download that binary at run time. So instead of `bicep build`:

- pycep-parser (requirements-dev.txt) parses the file with a Bicep grammar: a syntax error
  fails here; every parameter and variable is used and every symbol referenced resolves;
- the storage resources' bodies are checked against the REST models of azure-mgmt-storage
  (property names, writable or read-only, required, enum values): the schema `az deployment`
  validates them against;
- the promises of docs/functions.md ("Infrastructure") are asserted, and the settings the
  template gives the app pass the app's own settings parser.

What this cannot catch, a real compile would: Bicep's type checks of expressions and the
Microsoft.Web / Microsoft.Insights / Microsoft.Authorization bodies against their schemas."""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from retrain.config import Settings
from retrain.entrypoints import training_queue
from retrain.service import lifecycle

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "infra" / "main.bicep"

BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


@pytest.fixture(scope="module")
def bicep() -> dict[str, Any]:
    from pycep import BicepParser

    return BicepParser(cache=False).parse(file_path=BICEP)


def resource(bicep: dict[str, Any], name: str) -> dict[str, Any]:
    """A resource's body (a loop's body for a resource declared with ``for``)."""
    config = bicep["resources"][name]["config"]
    return config["config"] if "loop_type" in config else config


def variable(bicep: dict[str, Any], name: str) -> Any:
    return bicep["variables"][name]["value"]


def default(bicep: dict[str, Any], name: str) -> Any:
    return bicep["parameters"][name]["default"]


def decorator(bicep: dict[str, Any], param: str, kind: str) -> Any:
    found = [d["argument"] for d in bicep["parameters"][param]["decorators"] if d["type"] == kind]
    return found[0] if found else None


def symbols(bicep: dict[str, Any]) -> set[str]:
    names = set(bicep["parameters"]) | set(bicep["variables"]) | set(bicep["resources"])
    for body in bicep["resources"].values():
        if "loop_type" in body["config"]:
            names.add(body["config"]["loop_type"]["detail"]["item_name"])
    return names


def test_the_file_parses_and_every_name_in_it_is_declared_and_used(bicep):
    text = BICEP.read_text()
    declared = symbols(bicep)
    unused = [
        name
        for name in [*bicep["parameters"], *bicep["variables"]]
        if len(re.findall(rf"(?<![\w.'-]){name}(?![\w'-])", text)) < 2
    ]
    assert not unused, f"declared but never used: {unused}"

    unresolved: list[str] = []

    def walk(node: Any, key: str = "") -> None:
        if isinstance(node, dict):
            operator = node.get("operator")
            if isinstance(operator, dict) and operator.get("type") == "property_accessor":
                head = operator["operands"]["operand_1"]
                if isinstance(head, str) and head not in declared:
                    unresolved.append(head)
                walk(head)
                return
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str):
            for inside in re.findall(r"\$\{([^}]*)\}", node):  # names, not functions or 'text'
                names = re.findall(
                    r"(?<![\w.])([A-Za-z_]\w*)(?![\w(])", re.sub(r"'[^']*'", "", inside)
                )
                unresolved.extend(n for n in names if n not in declared)
            if key in ("parent", "scope", "dependsOn", "array_name", "condition") and (
                node not in declared
            ):
                unresolved.append(node)

    walk(bicep["resources"])
    walk(bicep["variables"])
    walk(bicep["outputs"])
    assert not unresolved, f"not declared: {sorted(set(unresolved))}"


def test_the_storage_account_takes_no_keys_no_anonymous_reads_and_no_plain_http(bicep):
    account = resource(bicep, "storage")
    assert bicep["resources"]["storage"]["type"] == "Microsoft.Storage/storageAccounts"
    assert account["kind"] == "StorageV2"
    assert account["properties"] == {
        "accessTier": "Hot",
        "supportsHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,  # the app and the host use their identity
        "defaultToOAuthAuthentication": True,
        "isHnsEnabled": False,  # blob index tags need a flat namespace
    }


def test_blob_versioning_and_soft_delete_are_on(bicep):
    blobs = resource(bicep, "blobService")
    assert blobs["parent"] == "storage" and blobs["name"] == "default"
    retention = {"enabled": True, "days": "softDeleteRetentionDays"}
    assert blobs["properties"] == {
        "isVersioningEnabled": True,
        "deleteRetentionPolicy": retention,
        "containerDeleteRetentionPolicy": retention,
    }
    assert 1 <= default(bicep, "softDeleteRetentionDays") <= 365


def rules(bicep: dict[str, Any]) -> list[dict[str, Any]]:
    return resource(bicep, "lifecycle")["properties"]["policy"]["rules"]


def test_the_lifecycle_policy_ages_only_artifacts_tagged_as_never_served(bicep):
    tagged = [r for r in rules(bicep) if "blobIndexMatch" in r["definition"]["filters"]]
    matched = set()
    for rule in tagged:
        assert rule["enabled"] is True and rule["type"] == "Lifecycle"
        filters, actions = rule["definition"]["filters"], rule["definition"]["actions"]
        assert filters["blobTypes"] == ["blockBlob"]
        assert filters["prefixMatch"] == ["${artifactContainer}/"]
        [condition] = filters["blobIndexMatch"]  # one status per rule: conditions are ANDed
        assert condition["name"] == lifecycle.TAG and condition["op"] == "=="
        matched.add(condition["value"])
        assert actions == {
            "baseBlob": {
                "tierToCool": {"daysAfterModificationGreaterThan": "coolArtifactsAfterDays"},
                "delete": {"daysAfterModificationGreaterThan": "deleteArtifactsAfterDays"},
            },
            # the copy the deletion leaves behind (versioning is on), kept as long again
            "version": {"delete": {"daysAfterCreationGreaterThan": "deleteArtifactsAfterDays"}},
        }
    assert matched == {str(s) for s in lifecycle.AGEING} == {"rejected", "kept_champion"}
    assert variable(bicep, "coolArtifactsAfterDays") == 30
    # at least 30 days in cool (its minimum billing) before anything is deleted
    assert decorator(bicep, "deleteArtifactsAfterDays", "min_value") >= 60
    assert default(bicep, "deleteArtifactsAfterDays") >= 60


def test_no_rule_touches_cards_champions_or_current_blobs_outside_the_tagged_ones(bicep):
    text = BICEP.read_text()
    for kept in set(lifecycle.ArtifactStatus) - lifecycle.AGEING:
        assert f"value: '{kept}'" not in text, f"a rule matches {kept}"
    for rule in rules(bicep):
        definition = rule["definition"]
        if "blobIndexMatch" in definition["filters"]:
            continue
        # untagged rules only expire overwritten copies, and never in the models container
        assert set(definition["actions"]) == {"version"}
        prefixes = definition["filters"]["prefixMatch"]
        assert prefixes and not [p for p in prefixes if "artifactContainer" in p]
        assert all(p.endswith("/") for p in prefixes)
    # a card is never tagged: only artifacts are (service/lifecycle.py, model_repository.py)
    assert "card.json" not in text


def test_no_rule_ages_or_deletes_correction_batches(bicep):
    """Corrections are data (issue 27): a batch blob is never tagged, so only a rule without
    a tag filter could reach it, and none covers the models container's feedback/ prefix."""
    from retrain.service import feedback_store

    container = default(bicep, "artifactContainer")
    blob = f"{container}/{feedback_store.key('KLASSE_ROH', 'b1', date(2026, 11, 1))}"
    for rule in rules(bicep):
        if "blobIndexMatch" in rule["definition"]["filters"]:
            continue
        for prefix in rule["definition"]["filters"]["prefixMatch"]:
            resolved = prefix.replace("${artifactContainer}", container)
            assert not blob.startswith(resolved), (rule["name"], prefix)


def test_the_containers_and_queues_are_the_apps(bicep):
    settings = Settings.from_environ({})
    assert default(bicep, "artifactContainer") == settings.artifact_container
    assert default(bicep, "runsContainer") == settings.runs_container
    loop = bicep["resources"]["containers"]["config"]["loop_type"]["detail"]["array_name"]
    assert {"artifactContainer", "runsContainer"} <= set(loop)
    assert variable(bicep, "trainingQueue") == training_queue.QUEUE
    assert variable(bicep, "poisonQueue") == "${trainingQueue}-poison"
    queues = bicep["resources"]["queues"]["config"]["loop_type"]["detail"]["array_name"]
    assert queues == ["trainingQueue", "poisonQueue"]


def test_the_function_app_runs_python_3_11_with_its_own_identity(bicep):
    plan = resource(bicep, "plan")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    app = resource(bicep, "app")
    assert bicep["resources"]["app"]["type"] == "Microsoft.Web/sites"
    assert app["kind"] == "functionapp,linux" and app["identity"] == {"type": "SystemAssigned"}
    config = app["properties"]["functionAppConfig"]
    assert app["properties"]["httpsOnly"] is True
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["deployment"]["storage"]["authentication"] == {"type": "SystemAssignedIdentity"}


def test_the_app_identity_gets_the_data_roles_it_needs_on_the_account(bicep):
    roles = [variable(bicep, name) for name in variable(bicep, "appRoles")]
    assert set(roles) == {BLOB_DATA_OWNER, QUEUE_DATA_CONTRIBUTOR, TABLE_DATA_CONTRIBUTOR}
    assignments = bicep["resources"]["appRoleAssignments"]
    assert assignments["type"] == "Microsoft.Authorization/roleAssignments"
    assert assignments["config"]["loop_type"]["detail"] == {
        "item_name": "role",
        "array_name": "appRoles",
    }
    body = resource(bicep, "appRoleAssignments")
    assert body["scope"] == "storage"
    definition = body["properties"]["roleDefinitionId"]["function"]
    assert definition["type"] == "subscription_resource_id"
    assert definition["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
    assert definition["parameters"]["resource_name_1"] == "role"
    principal = body["properties"]["principalId"]["operator"]["operands"]
    assert principal["operand_1"] == "app"
    assert body["properties"]["principalType"] == "ServicePrincipal"


# --- the app settings, through the app's own parser ---------------------------------------

ACCOUNT_URL = "https://retrainexample.blob.core.windows.net/"
EXPRESSIONS = {  # what a deployment fills in for the template's references
    ("storage", "name"): "retrainexample",
    ("storage", "properties"): ACCOUNT_URL,
    ("appInsights", "properties"): "InstrumentationKey=00000000-0000-0000-0000-000000000000",
}


def evaluate(bicep: dict[str, Any], value: Any, given: dict[str, Any]) -> Any:
    """A settings value as deployed with the parameters' defaults (and ``given``)."""
    if isinstance(value, str):
        if value in given:
            return given[value]
        if value in bicep["parameters"]:
            return default(bicep, value)
        return value
    operator = value["operator"]
    operands = operator["operands"]
    if operator["type"] == "conditional":
        branch = "true_value" if evaluate(bicep, operands["condition"], given) else "false_value"
        return evaluate(bicep, operands[branch], given)
    head = operands["operand_2"]
    while isinstance(head, dict):
        head = head["operator"]["operands"]["operand_1"]
    return EXPRESSIONS[(operands["operand_1"], head)]


def app_settings(bicep: dict[str, Any], **given: Any) -> dict[str, str]:
    given = {"trainingDbUrl": "postgresql+psycopg2://retrain_reader@db.example:5432/training"}
    return {k: str(evaluate(bicep, v, given)) for k, v in variable(bicep, "appSettings").items()}


def test_the_app_settings_are_identity_based_and_the_app_accepts_them(bicep):
    assert resource(bicep, "settings")["properties"] == "appSettings"
    settings = app_settings(bicep)
    assert settings["AzureWebJobsStorage__accountName"] == "retrainexample"
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert "AzureWebJobsStorage" not in settings  # no connection string, no account key
    assert "ARTIFACT_CONNECTION_STRING" not in settings
    assert settings["ARTIFACT_ACCOUNT_URL"] == ACCOUNT_URL

    template = json.loads((ROOT / "local.settings.json.template").read_text())["Values"]
    platform = {"APPLICATIONINSIGHTS_CONNECTION_STRING"}  # set by the platform, not the app
    extra = {k for k in settings if "__" not in k} - set(template) - platform
    assert not extra, f"settings the app does not know (local.settings.json.template): {extra}"

    from retrain.entrypoints.app_services import host_json

    parsed = Settings.from_environ(settings, host=host_json())  # ConfigError names a problem
    assert parsed.environment == default(bicep, "environment") != "LOCAL"
    assert parsed.artifact_account_url == ACCOUNT_URL and parsed.uses_blob
    assert parsed.artifact_connection_string is None and parsed.uami_client_id is None
    assert parsed.enable_slack is False and parsed.log_format == "json"


# --- the storage resources against the REST models of azure-mgmt-storage --------------------

STORAGE_MODELS = {
    "Microsoft.Storage/storageAccounts": "StorageAccountCreateParameters",
    "Microsoft.Storage/storageAccounts/blobServices": "BlobServiceProperties",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "BlobContainer",
    "Microsoft.Storage/storageAccounts/queueServices": "QueueServiceProperties",
    "Microsoft.Storage/storageAccounts/queueServices/queues": "StorageQueue",
    "Microsoft.Storage/storageAccounts/managementPolicies": "ManagementPolicy",
}
BICEP_ONLY = {"name", "parent", "dependsOn", "scope"}  # Bicep's own keys, not the body's


class RestModels:
    """Property names, writability, required fields and enums of azure-mgmt-storage models."""

    def __init__(self) -> None:
        from azure.mgmt.storage import models

        self.models = models
        module = sys.modules[models.StorageAccountCreateParameters.__module__]
        self.namespace = {**vars(module), "_models": models}

    def fields(self, cls: type) -> dict[str, tuple[Any, Any]]:
        cls({})  # the model base fills in its field table on first use
        hints = typing.get_type_hints(cls, self.namespace)
        table = cls._attr_to_rest_field  # type: ignore[attr-defined]
        return {field._rest_name: (hints.get(attr), field) for attr, field in table.items()}

    def check(self, cls: type, body: dict, path: str, symbols: set[str]) -> list[str]:
        problems = []
        fields = self.fields(cls)
        for key, value in body.items():
            if key not in fields:
                problems.append(f"{path}.{key}: {cls.__name__} has no such property")
                continue
            hint, field = fields[key]
            if not {"create", "update"} & set(field._visibility):
                problems.append(f"{path}.{key}: read-only")
            problems += self.value(hint, value, f"{path}.{key}", symbols)
        for key, (_, field) in fields.items():
            if not field._is_optional and "create" in field._visibility and key not in body:
                problems.append(f"{path}.{key}: required by {cls.__name__}")
        return problems

    def value(self, hint: Any, value: Any, path: str, symbols: set[str]) -> list[str]:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            enums = [a for a in args if isinstance(a, type) and issubclass(a, str) and a is not str]
            if len(args) == 1:
                return self.value(args[0], value, path, symbols)
            if enums and isinstance(value, str) and value not in symbols and "${" not in value:
                allowed = {e.value.lower() for e in enums[0]}
                if value.lower() not in allowed:
                    return [f"{path}: {value!r} is not one of {sorted(allowed)}"]
            return []
        if origin is list and isinstance(value, list):
            return [
                p
                for i, v in enumerate(value)
                for p in self.value(args[0], v, f"{path}[{i}]", symbols)
            ]
        if isinstance(hint, type) and hint.__module__.startswith("azure.mgmt.storage.models"):
            if isinstance(value, dict) and "operator" not in value and "function" not in value:
                return self.check(hint, value, path, symbols)
            return []
        if isinstance(value, str | dict):  # a reference or an expression: Bicep's to type
            return []
        if hint is bool and not isinstance(value, bool):
            return [f"{path}: {value!r} is not a boolean"]
        if hint in (int, float) and (isinstance(value, bool) or not isinstance(value, int | float)):
            return [f"{path}: {value!r} is not a number"]
        return []


def test_the_storage_resources_match_the_storage_rest_api(bicep):
    rest = RestModels()
    declared = symbols(bicep)
    problems: list[str] = []
    checked = set()
    for name, declaration in bicep["resources"].items():
        model = STORAGE_MODELS.get(declaration["type"])
        if model is None:
            continue
        body = {k: v for k, v in resource(bicep, name).items() if k not in BICEP_ONLY}
        problems += rest.check(getattr(rest.models, model), body, name, declared)
        checked.add(declaration["type"])
    assert checked == set(STORAGE_MODELS)
    assert not problems, "\n".join(problems)


def test_the_rest_model_check_finds_what_it_is_for():
    rest = RestModels()
    wrong = {"policy": {"rules": [{"name": "r", "type": "Lifecycle", "definition": {
        "filters": {"blobTypes": ["blockBlob"], "blobIndexMatches": []},
        "actions": {"baseBlob": {"tierToCold": {"daysAfterModificationGreaterThan": True}}},
    }}]}}  # fmt: skip
    problems = rest.check(rest.models.ManagementPolicyProperties, wrong, "p", set())
    assert any(
        "blobIndexMatches: ManagementPolicyFilter has no such property" in p for p in problems
    )
    assert any("daysAfterModificationGreaterThan: True is not a number" in p for p in problems)
    typo = rest.check(rest.models.StorageAccountCreateParameters, {"kind": "StorageV3"}, "s", set())
    assert any("'StorageV3' is not one of" in p for p in typo)
    assert any("sku: required" in p for p in typo)


def test_docs_show_the_one_deploy_command_and_every_tag():
    text = (ROOT / "docs" / "functions.md").read_text()
    section = text[text.index("## Infrastructure") : text.index("## Deploy")]
    assert "az deployment group create -g <resource group> -f infra/main.bicep" in section
    assert "-p name=<app name> trainingDbUrl=" in section
    for status in lifecycle.ArtifactStatus:
        assert f"| `{status}` |" in section
