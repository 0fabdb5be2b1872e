"""Tasks for deploying and running the S3 bucket synchroniser. ``fab --list`` lists them; ``fab -h TASK`` explains one.

Each task loads the config, builds its collaborators, calls one function of the ``deploy`` package (or the
``local_endpoint``) and prints the result. A user's mistake ends as ``Exit("message")``, never a traceback.
"""

import json as json_lib  # "json" is also the name of the tasks' --json option
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from fabric import task
from invoke.exceptions import Exit

from client import executions, history
from client.console import print_event, print_report_line, print_status, print_stopped, run_sync, status_json
from client.console import watch as watch_execution
from deploy import pipeline, state_machines
from deploy.aws import make_clients
from deploy.config import load_config
from deploy.errors import DeployError
from deploy.template import render_template, state_machine_prefix

PROJECT = pipeline.Project(Path(__file__).absolute().parent)
CONFIG_FILE = PROJECT.root / "fabfile_config.py"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn what a user can fix into one line on stderr and a non-zero exit."""
    try:
        yield
    except DeployError as error:
        raise Exit(f"Error: {error}") from None
    except EndpointConnectionError as error:
        raise Exit(
            f"Error: cannot reach {error.kwargs.get('endpoint_url')}: check your network, or start the local "
            "endpoint with 'fab server' if AWS_ENDPOINT_URL points at it"
        ) from None
    except (ClientError, BotoCoreError) as error:
        raise Exit(f"Error: AWS refused a request: {error}") from None


@contextmanager
def quiet_when_stdout_closes() -> Iterator[None]:
    """``fab report | head``: when the reader goes away, stop quietly with status 1, as Python's docs advise for
    SIGPIPE (point stdout at devnull, so that the flush at exit cannot fail again)."""
    try:
        yield
        sys.stdout.flush()  # what is still buffered may be what meets the closed pipe
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise Exit(code=1) from None


def whole_number(
    value: str | int | None, option: str, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    """The option's value as an int within its bounds, or Exit naming the option and what it takes."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = (
            f" from {minimum} to {maximum}"
            if minimum is not None and maximum is not None
            else f" of at least {minimum}"
            if minimum is not None
            else ""
        )
        raise Exit(f"Error: {option} takes a whole number{bounds}, not {value!r}")
    return number


@task(default=True)
@quiet_when_stdout_closes()
def deploy(c):
    """Deploy the functions and roles (change set), then a new timestamped state machine if anything changed."""
    with user_errors():
        config = load_config(CONFIG_FILE)
        print(f"Deploying stack {config.stack_name} to {config.region}")
        result = pipeline.deploy(PROJECT, config, make_clients(config), print_event)
    print(f"Package {result.package_key}: {'uploaded' if result.package_uploaded else 'unchanged, not uploaded'}")
    print(f"Stack {config.stack_name}: {'no changes' if result.stack_status == 'unchanged' else result.stack_status}")
    for machine in result.state_machines:
        print(f"State machine {machine.name}{'' if machine.created else ': unchanged, kept'}\n  {machine.arn}")
    for name in result.removed_state_machines:
        print(f"Removed old state machine {name}")
    for name in result.busy_state_machines:
        print(f"Kept old state machine {name}: it has a running execution")
    for warning in result.warnings:
        print(f"Warning: {warning}")


@task
@quiet_when_stdout_closes()
def template(c):
    """Print the SAM template 'fab deploy' would deploy, without deploying anything."""
    with user_errors():
        config = load_config(CONFIG_FILE)
        print(render_template(pipeline.plan(PROJECT, config).template), end="")


@task(
    help={
        "yes": "delete without asking for the typed confirmation",
        "purge": "also delete the deployment bucket with every sync's reports, run records and locks (its own "
        "typed confirmation: 'purge')",
    }
)
@quiet_when_stdout_closes()
def delete(c, yes=False, purge=False):
    """Delete the stack, its state machines and packages; --purge: the syncs' reports too. Data is never touched.

    Refuses while an execution runs. The deployment bucket is kept while it holds the syncs' reports, run records
    and locks; --purge deletes them and the bucket, after its own typed confirmation."""
    with user_errors():
        config = load_config(CONFIG_FILE)
        clients = make_clients(config)
        pipeline.check_deletable(PROJECT, config, clients)  # before the question: a "no" should not need asking
        if not yes:
            word = "purge" if purge else "delete"
            print(f"This deletes stack {config.stack_name} and its state machines in {config.region}", end="")
            print(
                f", and deployment bucket {config.deployment_bucket} with every sync's reports and records."
                if purge
                else "."
            )
            try:
                answer = input(f"Type '{word}' to go on: ")
            except EOFError:
                answer = ""
            if answer.strip() != word:
                raise Exit(f"Not deleted: the confirmation was not '{word}'.")
        result = pipeline.delete(PROJECT, config, clients, print_event, purge=purge)
    if not (result.stack_deleted or result.state_machines or result.package_objects or result.bucket_deleted):
        print(f"Nothing to delete: no stack {config.stack_name} and no state machines of it.")
    else:
        for name in result.state_machines:
            print(f"Deleted state machine {name}")
        print(
            f"Deleted stack {config.stack_name}" if result.stack_deleted else f"No stack {config.stack_name} to delete"
        )
        print(f"Deleted {result.package_objects} objects of the deployment bucket")
    if result.bucket_deleted:
        print(f"Deleted deployment bucket {config.deployment_bucket}")
    elif result.kept_objects:
        print(
            f"Kept deployment bucket {config.deployment_bucket}: its {result.kept_objects} objects are the syncs' "
            "reports, run records and locks. 'fab delete --purge' deletes it too."
        )


@task(
    help={
        "port": "port on 127.0.0.1 to listen on, 0 to 65535 (default 5000; 0 picks a free one)",
        "access-log": "append one line per request served (time, method, host, path, query, status, "
        "service, operation) to this file",
        "log": "write the endpoint's own log (moto's details of failed executions) to this file (default: a "
        "file in the endpoint's temporary folder, removed when it stops)",
    }
)
@quiet_when_stdout_closes()
def server(c, port=None, access_log=None, log=None):
    """Run the embedded local AWS endpoint on 127.0.0.1 until Ctrl-C; prints the AWS_ENDPOINT_URL to use."""
    number = whole_number(port, "--port", 0, 65535)
    from local_endpoint.server import EndpointError, serve

    try:
        serve(
            port=5000 if number is None else number,
            access_log=Path(access_log) if access_log else None,
            log=Path(log) if log else None,
        )
    except EndpointError as error:
        raise Exit(f"Error: {error}") from None


SCOPE_HELP = {
    "source": "source bucket name",
    "destination": "destination bucket name",
    "prefix": "only keys starting with this",
    "start-after": "only keys sorting after this",
    "exclude": "leave out keys (after the prefix) matching this pattern, on both sides: * ? [...]; repeatable, "
    "and with --include applied in the order given, the last match winning",
    "include": "take back keys matching this pattern that an earlier --exclude left out; repeatable",
    "requester-pays": "say on every request to the buckets that this account pays for it (requester-pays "
    "buckets of another account need it)",
    "list-ranges": "key ranges planned in parallel at most (default 16; 1: one listing stream per bucket)",
    "json": "print the execution output as JSON on the last line of stdout",
}
"""The options fab sync and fab check share: the buckets, the scope, and how the run reads them."""


@task(
    help={
        **SCOPE_HELP,
        "dry-run": "decide and report everything, change nothing",
        "allow-delete-all": "delete even if the source has nothing in scope (refused otherwise)",
        "max-deletes": "stop before any deletion if more are planned (default: MAX_DELETES of the config)",
        "plan-first": "copy nothing until the whole plan is made and the delete guards have passed",
        "copy-only": "copy what is missing or different, never delete (orphans are reported as kept)",
        "backup": "s3://bucket/prefix/: first copy every object the sync deletes or overwrites to "
        "prefix<execution>/<key> there",
    },
    iterable=["exclude", "include"],
)
@quiet_when_stdout_closes()
def sync(
    c,
    source,
    destination,
    prefix="",
    start_after="",
    dry_run=False,
    allow_delete_all=False,
    max_deletes=None,
    requester_pays=False,
    plan_first=False,
    list_ranges=None,
    exclude=None,
    include=None,
    copy_only=False,
    backup="",
    json=False,
):
    """Sync SOURCE into DESTINATION with the newest deployed state machine; exits non-zero if the sync failed."""
    document = {
        "prefix": prefix,
        "start_after": start_after,
        "dry_run": dry_run,
        "allow_delete_all": allow_delete_all,
        "max_deletes": whole_number(max_deletes, "--max-deletes"),
        "plan_first": plan_first,
        "mode": "copy" if copy_only else "sync",
        "backup": backup,
    }
    start(source, destination, document, exclude, include, requester_pays, list_ranges, json)


@task(help=SCOPE_HELP, iterable=["exclude", "include"])
@quiet_when_stdout_closes()
def check(
    c,
    source,
    destination,
    prefix="",
    start_after="",
    exclude=None,
    include=None,
    requester_pays=False,
    list_ranges=None,
    json=False,
):
    """Prove DESTINATION holds what SOURCE holds, changing nothing: every key matching, differing, missing or extra.

    Where the listings cannot tell (same size, different ETags), the whole-object checksums decide, one HEAD per
    side; a key neither proves is unverifiable. Exits 3 when the buckets are not in sync, 1 when the check failed."""
    document = {"prefix": prefix, "start_after": start_after, "mode": "check"}
    start(source, destination, document, exclude, include, requester_pays, list_ranges, json)


def start(source, destination, options, exclude, include, requester_pays, list_ranges, json):
    """Start a sync (or a check) with the newest deployed state machine, follow it and finish."""
    with user_errors():
        config = load_config(CONFIG_FILE)
        document = executions.sync_input(
            source,
            destination,
            settings=None if list_ranges is None else {"listRanges": whole_number(list_ranges, "--list-ranges")},
            requester_pays=requester_pays,
            filters=ordered_filters(exclude or [], include or [], sys.argv),
            **options,
        )
        clients = make_clients(config)
        # The allow-lists and MAX_DELETES ValidateInput holds the execution to: the deployed ones, not the file's.
        executions.check_input(document, pipeline.with_deployed_limits(PROJECT, config, clients))
        executions.check_buckets(clients.s3, document)
        machine = pipeline.newest_state_machine(PROJECT, config, clients, "sync_buckets")
        try:
            result = run_sync(clients.stepfunctions, machine.arn, document, json, clients.s3, config.deployment_bucket)
        except executions.FollowInterrupted as interrupted:
            raise Exit(str(interrupted), code=130) from None  # 128 + SIGINT, as a shell reports Ctrl-C
    finish(result, json)


FILTER_FLAGS = {"--exclude": "exclude", "--include": "include"}
NOT_IN_SYNC_EXIT = 3
"""fab check's exit status when the buckets differ, apart from 1 for a check that failed (as s3sync and diff do)."""


def ordered_filters(excludes, includes, argv):
    """The --exclude and --include patterns as filters, in the order the command line gave them: invoke collects
    each option in a list of its own, and the order decides (the last match wins)."""
    if not excludes or not includes:
        return [{"exclude": p} for p in excludes] + [{"include": p} for p in includes]
    given, tokens = [], iter(argv)
    for token in tokens:
        flag, equals, value = token.partition("=")
        if flag in FILTER_FLAGS:
            given.append({FILTER_FLAGS[flag]: value if equals else next(tokens, "")})
    if [f["exclude"] for f in given if "exclude" in f] != list(excludes) or [
        f["include"] for f in given if "include" in f
    ] != list(includes):
        raise Exit(
            "Error: could not tell the order of --exclude and --include: give both in their long forms, "
            "--exclude PATTERN and --include PATTERN"
        )
    return given


def finish(result, json):
    """The end of a followed sync: the output as JSON when asked, and a non-zero exit when it failed."""
    if json:
        print(executions.output_json(result))
    if not result.succeeded:
        code = NOT_IN_SYNC_EXIT if result.error == "NotInSyncError" else 1
        raise Exit(f"Sync {result.status.lower()}: {executions.failure_message(result, fab_flags=True)}", code=code)


def sync_machine_arns(config, clients):
    """Every deployed version of the sync state machine, oldest first."""
    prefix = state_machine_prefix(config, "sync_buckets")
    return [machine.arn for machine in state_machines.list_deployed(clients.stepfunctions, prefix)]


@task(
    help={
        "execution": "the execution's name or ARN (default: the newest running sync)",
        "json": "print the execution output as JSON on the last line of stdout",
    }
)
@quiet_when_stdout_closes()
def watch(c, execution=None, json=False):
    """Follow a running sync again, or show a finished one's summary; exits non-zero if it failed."""
    with user_errors():
        config = load_config(CONFIG_FILE)
        clients = make_clients(config)
        arn = executions.find_execution(clients.stepfunctions, sync_machine_arns(config, clients), execution)
        try:
            result = watch_execution(clients.stepfunctions, arn, json, clients.s3, config.deployment_bucket)
        except executions.FollowInterrupted as interrupted:
            raise Exit(str(interrupted), code=130) from None
    finish(result, json)


@task(help={"name": "the execution's name or ARN ('fab status' lists them)"})
@quiet_when_stdout_closes()
def stop(c, name):
    """Stop a running sync: copies under way finish, no deletion is made after them; says what it had done."""
    with user_errors():
        config = load_config(CONFIG_FILE)
        clients = make_clients(config)
        arn = executions.find_execution(clients.stepfunctions, sync_machine_arns(config, clients), name)
        stopped = executions.stop(clients.stepfunctions, clients.s3, config.deployment_bucket, arn)
    print_stopped(stopped)


@task(
    help={
        "limit": "how many executions to show: a whole number of at least 1 (default 10)",
        "json": "print the rows as one JSON array instead of the table",
    }
)
@quiet_when_stdout_closes()
def status(c, limit=None, json=False):
    """List the most recent syncs, newest first, with what each copied, deleted and failed.

    Read from the run records in the deployment bucket, so syncs whose state machine a deploy removed are listed
    too, until REPORT_RETENTION_DAYS expires them."""
    count = whole_number(limit, "--limit", minimum=1)
    count = 10 if count is None else count
    with user_errors():
        config = load_config(CONFIG_FILE)
        clients = make_clients(config)
        rows = history.recent(
            clients.s3, clients.stepfunctions, config.deployment_bucket, sync_machine_arns(config, clients), count
        )
    if json:
        print(status_json(rows))
    else:
        print_status(rows)


@task(
    help={
        "execution": "an execution's name or ARN (default: the most recent sync)",
        "failed": "only failed objects",
        "copied": "only copied objects",
        "deleted": "only deleted objects",
        "skipped": "only skipped objects",
        "planned": "only what a dry run would copy or delete",
        "json": "print the report's JSON lines as they are",
    }
)
@quiet_when_stdout_closes()
def report(c, execution=None, failed=False, copied=False, deleted=False, skipped=False, planned=False, json=False):
    """Print the per-object report of a sync: what was copied, deleted, skipped or failed, and why."""
    wanted = {
        result
        for result, chosen in (
            ("failed", failed),
            ("copied", copied),
            ("deleted", deleted),
            ("skipped", skipped),
            ("planned", planned),
        )
        if chosen
    }
    with user_errors():
        config = load_config(CONFIG_FILE)
        clients = make_clients(config)
        arns = sync_machine_arns(config, clients)
        if execution:
            chosen = history.find(clients.s3, clients.stepfunctions, config.deployment_bucket, arns, execution)
        else:
            newest = history.recent(clients.s3, clients.stepfunctions, config.deployment_bucket, arns, 1)
            chosen = newest[0] if newest else None
        if chosen is None:
            raise Exit(
                f"Error: no sync execution named {execution!r}; 'fab status' lists them"
                if execution
                else "Error: no sync has run yet"
            )
        report_uri = (chosen.summary or {}).get("report")
        if not report_uri:
            print(
                f"Execution {chosen.name} ({chosen.status}) has no report: "
                f"{'it had nothing to do' if chosen.summary else 'it ended before writing one'}."
            )
            return
        print(f"Report of {chosen.name} ({chosen.status}): {report_uri}", file=sys.stderr)
        for line in executions.report_lines(clients.s3, report_uri):
            if wanted and line["result"] not in wanted:
                continue
            if json:
                print(json_lib.dumps(line, ensure_ascii=False))
            else:
                print_report_line(line)


@task
@quiet_when_stdout_closes()
def local(c):
    """The whole job on the embedded endpoint, for a first look: deploy, sync demo buckets, change them, sync again."""
    from client.demo import run_demo

    with user_errors():
        run_demo(PROJECT, print)


@task(help={"json": "print the schedules as one JSON array instead of the table"})
@quiet_when_stdout_closes()
def schedules(c, json=False):
    """List the deployment's schedules: state, expression, next run, last execution and the machine each starts.

    Also says what disagrees with SCHEDULES in fabfile_config.py (the next 'fab deploy' puts it right) and any
    input the deployed ValidateInput would refuse."""
    from datetime import UTC, datetime

    from client import schedules as scheduled

    with user_errors():
        config = load_config(CONFIG_FILE)
        clients = make_clients(config)
        limits = pipeline.with_deployed_limits(PROJECT, config, clients)
        rows = scheduled.overview(
            clients.scheduler,
            clients.s3,
            clients.stepfunctions,
            config,
            sync_machine_arns(config, clients),
            datetime.now(UTC),
            lambda document: scheduled.refusal(document, limits),
        )
    print(scheduled.as_json(rows) if json else "\n".join(scheduled.table(rows)))
