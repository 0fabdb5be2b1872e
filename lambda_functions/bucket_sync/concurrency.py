"""One sync at a time into a destination: a second execution towards it, while one runs, is refused.

Asks Step Functions, not S3: the running executions of this deployment's sync state machines (every timestamped
version) and their inputs. Of two executions into one destination, the one that started first goes on; the
later one fails with ConcurrentSyncError. No lock object, so nothing is left behind by a run that dies.
"""
import json
from typing import Any

from .errors import SyncError


class ConcurrentSyncError(SyncError):
    """Another execution of this deployment is syncing into the same destination."""


def machine_prefix(execution_arn: str) -> str:
    """``arn:...:execution:<app>-sync_buckets-<timestamp>:<name>`` -> ``<app>-sync_buckets-``."""
    machine = execution_arn.split(":")[6]
    return machine.rsplit("-", 1)[0] + "-"


def refuse_concurrent(sfn: Any, execution_arn: str, destination: str) -> None:
    me = sfn.describe_execution(executionArn=execution_arn)
    mine = (me["startDate"], execution_arn)
    prefix = machine_prefix(execution_arn)
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if not machine["name"].startswith(prefix):
                continue
            running = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")
            for execution in (e for p in running for e in p["executions"]):
                if execution["executionArn"] == execution_arn or (execution["startDate"],
                                                                  execution["executionArn"]) > mine:
                    continue  # a later execution yields to this one, not the other way round
                document = sfn.describe_execution(executionArn=execution["executionArn"]).get("input") or "{}"
                if json.loads(document).get("destination") == destination:
                    raise ConcurrentSyncError(
                        f"another sync into {destination!r} is running ({execution['executionArn']}, started "
                        f"{execution['startDate']:%Y-%m-%d %H:%M:%S %Z}); wait for it to end or stop it, then "
                        "start this one again. Nothing was changed.")
