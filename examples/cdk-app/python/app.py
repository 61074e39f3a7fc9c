#!/usr/bin/env python3
"""The example app in Python, through the jsii Python target of depot-migrate-cdk.

Prints a JSON object with the version hashes and the template path, for the test.
"""
import json
import os
import sys

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from aws_cdk.cx_api import SynthesisMessageLevel
from depot_migrate_cdk import (
    AllowDestructive,
    DatasetConfig,
    DatasetMigration,
    DepotPackage,
    Engine,
    LifecycleEvent,
    MigrationLifecycleAlerts,
    MigrationMode,
)

HERE = os.path.dirname(os.path.abspath(__file__))


def depot(name: str) -> str:
    return os.path.join(HERE, "..", "depot", name)


def enum_member(enum, value):
    """The member of a jsii enum for a dataset file's string (`aurora-postgresql` ->
    `AURORA_POSTGRESQL`), or None."""
    return None if value is None else enum[value.upper().replace("-", "_")]


def dataset_file(name: str, allow_destructive=None) -> DatasetConfig:
    with open(depot(name), encoding="utf-8") as f:
        d = json.load(f)
    return DatasetConfig(
        environment_id=d["environmentId"],
        dataset_id=d["datasetId"],
        dataset_alias=d.get("datasetAlias"),
        engine=enum_member(Engine, d["engine"]),
        schema=d["schema"],
        migration_mode=enum_member(MigrationMode, d.get("migrationMode")),
        event_bus_name=d.get("eventBusName"),
        allow_destructive=allow_destructive,
    )


app = cdk.App(outdir=sys.argv[1] if len(sys.argv) > 1 else None)
stack = cdk.Stack(app, "DepotExamplePy")

dogs = DatasetMigration(
    stack,
    "Dogs",
    package=DepotPackage.from_file(depot("dogs.package.json")),
    baseline=DepotPackage.from_file(depot("dogs.deployed.json")),
    dataset=dataset_file("dogs.dataset.json"),
)
with open(depot("cats.package.json"), encoding="utf-8") as f:
    cats_package = json.load(f)
cats_package["tables"][0]["comment"] = None  # None is absent: same hash as the file
cats = DatasetMigration(
    stack,
    "Cats",
    package=DepotPackage.from_object(cats_package),
    dataset=dataset_file("cats.dataset.json"),
    worker_queue=True,
)
topic = sns.Topic(stack, "AlertTopic")
MigrationLifecycleAlerts(
    stack, "FailureAlerts", topic=topic, datasets=[dogs, cats], events=[LifecycleEvent.FAILED]
)
cdk.CfnOutput(stack, "DogsVersionHash", value=dogs.version_hash)

# The destructive-change gate through jsii: dropping dog.weight is a synth error unless
# allowed by its key (a second stack, so the main template stays deployable).
with open(depot("dogs.package.json"), encoding="utf-8") as f:
    dogs_next = json.load(f)
dogs_next["tables"][0]["columns"] = [c for c in dogs_next["tables"][0]["columns"] if c["name"] != "weight"]
gate = cdk.Stack(app, "DepotGatePy")
for name, allow in [("Refused", None), ("Allowed", AllowDestructive.steps(["dropColumn:dog.weight"]))]:
    DatasetMigration(
        gate,
        name,
        package=DepotPackage.from_object(dogs_next),
        baseline=DepotPackage.from_file(depot("dogs.package.json")),
        dataset=dataset_file("dogs.dataset.json", allow),
    )

assembly = app.synth()
def errors_of(stack_name: str):
    artifact = assembly.get_stack_by_name(stack_name)
    return [f"{m.id}: {m.entry.data}" for m in artifact.messages if m.level == SynthesisMessageLevel.ERROR]


errors = errors_of("DepotExamplePy")
gate_errors = errors_of("DepotGatePy")
print(
    json.dumps(
        {
            "dogsVersionHash": dogs.version_hash,
            "catsVersionHash": cats.version_hash,
            "dogsDestructive": dogs.destructive,
            "dogsPlanSummary": dogs.plan_summary,
            "template": os.path.join(assembly.directory, "DepotExamplePy.template.json"),
            "errors": len(errors),
            "gateErrors": gate_errors,
        }
    )
)
