"""Checking a sync's input: every rejection named (the message names the field and says what to do), then the
shapes that are accepted and what they become. Pure: no AWS."""

import json

import pytest
import validate_input

from bucket_sync.errors import InvalidInputError
from bucket_sync.inputs import Limits, parse_input
from bucket_sync.run import Settings, SyncRun

RUN_ID, WORK_BUCKET = "exec-1", "deployment-bucket"
VALID = {"source": "my-data", "destination": "my-data-copy"}


def event(**fields):
    """A valid input with ``fields`` changed; a field given as ``...`` is left out."""
    return {name: value for name, value in {**VALID, **fields}.items() if value is not ...}


def settings(**values):
    return event(settings=values)


# Every case: the input, then fragments the message must contain: the field's name, then what to do.
REJECTED = [
    pytest.param(None, ["JSON object", '"source": "my-bucket"'], id="not-an-object"),
    pytest.param(["my-data", "my-data-copy"], ["JSON object"], id="a-list"),
    # Fields
    pytest.param(
        event(destination=..., destinaton="my-data-copy"),
        ["'destinaton'", "check the spelling"],
        id="unknown-field-typo-destinaton",
    ),
    pytest.param(event(Source="x"), ["'Source'", "check the spelling"], id="unknown-field-wrong-case"),
    pytest.param(event(source=...), ["'source' is missing", "give the source bucket's name"], id="source-missing"),
    pytest.param(event(source=""), ["'source' is missing", "give the source bucket's name"], id="source-empty"),
    pytest.param(event(source=None), ["'source' is missing"], id="source-null"),
    pytest.param(
        event(destination=...),
        ["'destination' is missing", "give the destination bucket's name"],
        id="destination-missing",
    ),
    pytest.param(
        event(destination=""),
        ["'destination' is missing", "give the destination bucket's name"],
        id="destination-empty",
    ),
    pytest.param(event(source=123), ["'source' must be a string", "not int"], id="source-number"),
    pytest.param(event(destination=["b"]), ["'destination' must be a string", "not list"], id="destination-list"),
    pytest.param(
        event(destination={"name": "b"}), ["'destination' must be a string", "not dict"], id="destination-object"
    ),
    # Bucket names S3 rejects
    pytest.param(event(source="My-Data"), ["'source' is 'My-Data'", "lower case"], id="source-uppercase"),
    pytest.param(event(destination="ab"), ["'destination' is 'ab'", "3 to 63 characters"], id="too-short"),
    pytest.param(event(destination="a" * 64), ["'destination'", "3 to 63 characters"], id="too-long"),
    pytest.param(event(source="s3://my-data"), ["'source'", "not an s3:// URL or ARN"], id="s3-url"),
    pytest.param(event(source="arn:aws:s3:::my-data"), ["'source'", "not an s3:// URL or ARN"], id="arn"),
    pytest.param(event(source="my_data"), ["'source'", "letters, digits, '.' and '-'"], id="underscore"),
    pytest.param(
        event(source="-my-data"), ["'source'", "starting and ending with a letter or digit"], id="leading-hyphen"
    ),
    pytest.param(
        event(source="my-data."), ["'source'", "starting and ending with a letter or digit"], id="trailing-dot"
    ),
    pytest.param(
        event(destination="192.168.5.4"), ["'destination'", "must not look like an IP address"], id="ip-address"
    ),
    pytest.param(event(destination="my..data"), ["'destination'", "must not contain '..'"], id="double-dot"),
    pytest.param(event(destination="my.-data"), ["'destination'", "'.-'"], id="dot-hyphen"),
    pytest.param(event(destination="my-.data"), ["'destination'", "'-.'"], id="hyphen-dot"),
    pytest.param(
        event(destination="my-data"),
        ["'source' and 'destination' are the same bucket", "Name two different buckets"],
        id="same-bucket-twice",
    ),
    # Scope
    pytest.param(event(prefix="é" * 513), ["'prefix'", "1024 bytes in UTF-8"], id="prefix-1026-bytes"),
    pytest.param(event(prefix="€" * 400), ["'prefix'", "1024 bytes in UTF-8"], id="prefix-400-chars-of-3-bytes"),
    pytest.param(event(startAfter="k" * 1025), ["'startAfter'", "1024 bytes in UTF-8"], id="startAfter-1025-bytes"),
    pytest.param(
        event(startAfter="€" * 400), ["'startAfter'", "1024 bytes in UTF-8"], id="startAfter-400-chars-of-3-bytes"
    ),
    pytest.param(event(prefix=7), ["'prefix' must be a string", "not int"], id="prefix-number"),
    pytest.param(event(startAfter=None), ["'startAfter' must be a string"], id="startAfter-null"),
    # dryRun
    pytest.param(event(dryRun="true"), ["'dryRun' must be true or false", "'true'"], id="dryRun-string"),
    pytest.param(event(dryRun=1), ["'dryRun' must be true or false", "not 1"], id="dryRun-one"),
    pytest.param(event(dryRun=None), ["'dryRun' must be true or false"], id="dryRun-null"),
    # settings
    pytest.param(event(settings=[]), ["'settings' must be an object"], id="settings-list"),
    pytest.param(event(settings=None), ["'settings' must be an object"], id="settings-null"),
    pytest.param(settings(pagesize=10), ["unknown setting 'pagesize'", "pageSize"], id="unknown-setting"),
    pytest.param(settings(pageSize="10"), ["'pageSize' must be a whole number"], id="setting-string"),
    pytest.param(settings(copyBatchKeys=1.5), ["'copyBatchKeys' must be a whole number"], id="setting-fraction"),
    pytest.param(settings(copyBatchKeys=10.0), ["'copyBatchKeys' must be a whole number"], id="setting-float"),
    pytest.param(settings(copyThreads=True), ["'copyThreads' must be a whole number"], id="setting-boolean"),
    pytest.param(settings(copyBatchBytes=0), ["'copyBatchBytes'", "at least 1"], id="setting-zero"),
    pytest.param(settings(deleteBatchKeys=-1), ["'deleteBatchKeys'", "at least 1"], id="setting-negative"),
    pytest.param(settings(maxKeysPerRound=-1), ["'maxKeysPerRound'", "at least 0"], id="maxKeysPerRound-negative"),
    pytest.param(
        settings(pageSize=1001), ["'pageSize' is at most 1,000", "S3 lists at most 1,000 keys"], id="pageSize-over-1000"
    ),
    pytest.param(
        settings(deleteBatchKeys=1001),
        ["'deleteBatchKeys' is at most 1,000", "S3 deletes at most 1,000"],
        id="deleteBatchKeys-over-1000",
    ),
    pytest.param(
        settings(copyThreads=65),
        ["'copyThreads' is at most 64", "Lambda's 1,024 processes and threads"],
        id="copyThreads-over-64",
    ),
    pytest.param(
        settings(maxConcurrency=10_001),
        ["'maxConcurrency' is at most 10,000", "Distributed Map"],
        id="maxConcurrency-over-10000",
    ),
    pytest.param(
        settings(multipartThresholdBytes=5 * 1024**3 + 1),
        ["'multipartThresholdBytes' is at most", "CopyObject copies at most 5 GiB"],
        id="multipartThreshold-over-5GiB",
    ),
    pytest.param(
        settings(listRanges=257), ["'listRanges' is at most 256", "1,000 Map Runs open"], id="listRanges-over-256"
    ),
    pytest.param(settings(listRanges=0), ["'listRanges' must be a whole number of at least 1"], id="listRanges-0"),
    pytest.param(event(planFirst="yes"), ["'planFirst' must be true or false"], id="planFirst-string"),
    # requesterPays
    pytest.param(event(requesterPays="yes"), ["'requesterPays' must be true or false"], id="requesterPays-string"),
    # filters
    pytest.param(event(filters="*.tmp"), ["'filters' must be a list", '{"exclude": "*.tmp"}'], id="filters-string"),
    pytest.param(
        event(filters=[{"exclude": "*.tmp"}, {"exlude": "*.log"}]),
        ["filter 2 of 'filters'", '"exclude" or "include"'],
        id="filters-typo-exlude",
    ),
    pytest.param(
        event(filters=[{"exclude": "*.tmp", "include": "a*"}]),
        ["filter 1 of 'filters'", "one field"],
        id="filters-two-fields-in-one",
    ),
    pytest.param(event(filters=["*.tmp"]), ["filter 1 of 'filters'", "an object"], id="filters-bare-pattern"),
    pytest.param(event(filters=[{"include": ""}]), ["filter 1 of 'filters'", "non-empty string"], id="filters-empty"),
    pytest.param(event(filters=[{"exclude": 7}]), ["filter 1 of 'filters'", "not 7"], id="filters-number"),
    pytest.param(
        event(filters=[{"exclude": "k" * 1025}]), ["filter 1 of 'filters'", "1024 bytes"], id="filters-too-long"
    ),
    pytest.param(
        event(filters=[{"exclude": "*"}] * 101), ["101 filters", "more than 100", "'prefix'"], id="filters-101"
    ),
    # mode
    pytest.param(event(mode="mirror"), ["'mode' is 'mirror'", '"sync"', '"copy"', '"check"'], id="mode-unknown"),
    pytest.param(event(mode="Check"), ["'mode' is 'Check'"], id="mode-wrong-case"),
    pytest.param(event(mode="check", dryRun=True), ["'dryRun'", "changes nothing", "drop dryRun"], id="check-dry-run"),
    # backup
    pytest.param(event(backup="my-backups"), ["'backup' is 'my-backups'", '"s3://my-backups/sync/"'], id="backup-name"),
    pytest.param(event(backup=True), ["'backup' is True", "S3 location"], id="backup-boolean"),
    pytest.param(event(backup="s3://My-Backups/"), ["'backup' names the bucket 'My-Backups'"], id="backup-bad-bucket"),
    pytest.param(event(backup="s3://my-backups/sync"), ["prefix 'sync'", "end it with '/'"], id="backup-no-slash"),
    pytest.param(
        event(backup="s3://my-data-copy/old/"),
        ["inside the sync's scope in the destination bucket", "another bucket"],
        id="backup-in-destination-scope",
    ),
    pytest.param(
        event(backup="s3://my-data/old/", prefix="old/x/"),
        ["inside the sync's scope in the source bucket"],
        id="backup-contains-source-scope",
    ),
    pytest.param(
        event(backup="s3://my-data-copy/", prefix="data/"),
        ["inside the sync's scope in the destination bucket"],
        id="backup-whole-destination-bucket",
    ),
    pytest.param(
        event(mode="check", backup="s3://my-backups/"),
        ["'backup'", "deletes and overwrites nothing"],
        id="check-backup",
    ),
]


@pytest.mark.parametrize("given, fragments", REJECTED)
def test_rejected_input_names_the_field_and_what_to_do(given, fragments):
    with pytest.raises(InvalidInputError) as raised:
        parse_input(given, RUN_ID, WORK_BUCKET)

    message = str(raised.value)
    assert [fragment for fragment in fragments if fragment not in message] == [], message


@pytest.mark.parametrize(
    "backup",
    ["s3://my-backups/", "s3://my-backups/sync/", "s3://my-data-copy/backups/", "s3://my-data/backups/"],
)
def test_a_backup_outside_the_scope_is_accepted(backup):
    run = parse_input(event(backup=backup, prefix="data/"), RUN_ID, WORK_BUCKET)

    assert run.backup == backup
    assert run.backup_key("data/a b") == f"{backup.split('/', 3)[3]}{RUN_ID}/data/a b"


def test_a_backup_bucket_must_be_a_destination_this_deployment_may_write():
    limits = Limits(destination_buckets=("my-data-*",))

    with pytest.raises(InvalidInputError, match="'backup' is 'other-bucket'.*DESTINATION_BUCKETS allows my-data-"):
        parse_input(event(backup="s3://other-bucket/"), RUN_ID, WORK_BUCKET, limits)
    assert parse_input(event(backup="s3://my-data-old/"), RUN_ID, WORK_BUCKET, limits).backup == "s3://my-data-old/"


def test_filters_and_mode_are_kept_in_order():
    filters = [{"exclude": "*"}, {"include": "*.csv"}, {"exclude": "tmp/*"}]

    run = parse_input(event(filters=filters, mode="check"), RUN_ID, WORK_BUCKET)

    assert (list(run.filters), run.mode, run.deletes) == (filters, "check", False)
    assert parse_input(event(), RUN_ID, WORK_BUCKET).mode == "sync"


def rejection(given):
    """The message parse_input raises for ``given``, or None when it accepts it."""
    try:
        parse_input(given, RUN_ID, WORK_BUCKET)
    except InvalidInputError as error:
        return str(error)
    return None


def test_a_bucket_name_with_a_trailing_newline_is_rejected():
    message = rejection(event(destination="my-data\n"))

    assert message is not None and "'destination'" in message


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("xn--my-data", id="prefix-xn--"),
        pytest.param("sthree-my-data", id="prefix-sthree-"),
        pytest.param("my-data-s3alias", id="suffix-s3alias"),
        pytest.param("my-data--ol-s3", id="suffix--ol-s3"),
    ],
)
def test_bucket_names_with_reserved_prefixes_or_suffixes_are_rejected(name):
    message = rejection(event(destination=name))

    assert message is not None and "'destination'" in message


# Accepted


def test_defaults_are_applied():
    run = parse_input(dict(VALID), RUN_ID, WORK_BUCKET)

    assert run == SyncRun(
        run_id=RUN_ID,
        source="my-data",
        destination="my-data-copy",
        prefix="",
        start_after="",
        dry_run=False,
        source_region="",
        destination_region="",
        work_bucket=WORK_BUCKET,
        settings=Settings(),
    )


def test_every_field_given():
    run = parse_input(
        event(
            prefix="photos/2024/",
            startAfter="photos/2024/b",
            dryRun=True,
            settings={
                "pageSize": 2,
                "copyBatchKeys": 3,
                "copyBatchBytes": 4,
                "deleteBatchKeys": 5,
                "maxKeysPerRound": 6,
                "multipartThresholdBytes": 7,
                "copyThreads": 8,
                "maxConcurrency": 9,
            },
        ),
        RUN_ID,
        WORK_BUCKET,
    )

    assert (run.prefix, run.start_after, run.dry_run) == ("photos/2024/", "photos/2024/b", True)
    assert run.settings == Settings(
        page_size=2,
        copy_batch_keys=3,
        copy_batch_bytes=4,
        delete_batch_keys=5,
        max_keys_per_round=6,
        multipart_threshold_bytes=7,
        copy_threads=8,
        max_concurrency=9,
    )


@pytest.mark.parametrize(
    "given, expected",
    [
        pytest.param({}, Settings(), id="empty-settings"),
        pytest.param({"maxKeysPerRound": 0}, Settings(max_keys_per_round=0), id="maxKeysPerRound-zero-means-time"),
        pytest.param(
            {"pageSize": 1000, "deleteBatchKeys": 1000},
            Settings(page_size=1000, delete_batch_keys=1000),
            id="s3-limits-exactly",
        ),
        pytest.param({"pageSize": 1, "copyBatchKeys": 1}, Settings(page_size=1, copy_batch_keys=1), id="minimums"),
        pytest.param({"copyBatchBytes": 50 * 1024**3}, Settings(copy_batch_bytes=50 * 1024**3), id="big-numbers"),
        pytest.param(
            {"copyThreads": 64, "maxConcurrency": 10_000, "multipartThresholdBytes": 5 * 1024**3},
            Settings(copy_threads=64, max_concurrency=10_000, multipart_threshold_bytes=5 * 1024**3),
            id="service-limits-exactly",
        ),
    ],
)
def test_settings_are_parsed(given, expected):
    assert parse_input(event(settings=given), RUN_ID, WORK_BUCKET).settings == expected


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("abc", id="3-characters"),
        pytest.param("a" * 63, id="63-characters"),
        pytest.param("my.data.2024", id="dots"),
        pytest.param("1-2-3", id="digits"),
        pytest.param("192.168.5.x", id="almost-an-ip-address"),
    ],
)
def test_valid_bucket_names_are_accepted(name):
    assert parse_input(event(destination=name), RUN_ID, WORK_BUCKET).destination == name


@pytest.mark.parametrize(
    "field, value",
    [
        pytest.param("prefix", "é" * 512, id="prefix-1024-bytes"),
        pytest.param("startAfter", "k" * 1024, id="startAfter-1024-bytes"),
        pytest.param("prefix", "a b+c%2F?//../", id="prefix-awkward"),
        pytest.param("startAfter", "cafe\u0301", id="startAfter-nfd-kept-as-given"),
    ],
)
def test_scope_up_to_1024_bytes_is_kept_exactly(field, value):
    run = parse_input(event(**{field: value}), RUN_ID, WORK_BUCKET)

    assert run.to_json()[field] == value


@pytest.mark.parametrize("dry_run", [True, False])
def test_dry_run_booleans(dry_run):
    assert parse_input(event(dryRun=dry_run), RUN_ID, WORK_BUCKET).dry_run is dry_run


def test_run_round_trips_through_json():
    run = parse_input(
        event(
            prefix="é/",
            startAfter="é/a b",
            dryRun=True,
            planFirst=True,
            filters=[{"exclude": "*.tmp"}, {"include": "keep/*.tmp"}],
            mode="copy",
            backup="s3://my-backups/sync/",
            settings={"copyBatchKeys": 2, "maxKeysPerRound": 5, "listRanges": 3},
        ),
        RUN_ID,
        WORK_BUCKET,
    )
    run = run.with_regions("eu-west-1", "us-east-1")

    data = json.loads(json.dumps(run.to_json()))

    assert data == {
        "runId": RUN_ID,
        "source": "my-data",
        "destination": "my-data-copy",
        "prefix": "é/",
        "startAfter": "é/a b",
        "dryRun": True,
        "allowDeleteAll": False,
        "maxDeletes": -1,
        "planFirst": True,
        "requesterPays": False,
        "filters": [{"exclude": "*.tmp"}, {"include": "keep/*.tmp"}],
        "mode": "copy",
        "backup": "s3://my-backups/sync/",
        "sourceRegion": "eu-west-1",
        "destinationRegion": "us-east-1",
        "backupRegion": "",
        "workBucket": WORK_BUCKET,
        "settings": {**Settings().to_json(), "copyBatchKeys": 2, "maxKeysPerRound": 5, "listRanges": 3},
    }
    assert SyncRun.from_json(data) == run


EXECUTION_ARN = f"arn:aws:states:us-east-1:123456789012:execution:app-sync_buckets-20261125T000000000:{RUN_ID}"


def test_the_handler_validates_the_execution_input_into_a_run(monkeypatch):
    monkeypatch.setenv("DEPLOYMENT_BUCKET", WORK_BUCKET)
    monkeypatch.setenv("MAX_DELETES", "25")
    taken = []
    monkeypatch.setattr(
        validate_input.concurrency,
        "take",
        lambda s3, sfn, bucket, destination, arn: taken.append((bucket, destination, arn)) or '"lock-etag"',
    )

    output = validate_input.handler({"executionArn": EXECUTION_ARN, "runId": RUN_ID, "input": event(dryRun=True)}, None)

    assert SyncRun.from_json(output["run"]) == SyncRun(
        RUN_ID, "my-data", "my-data-copy", dry_run=True, max_deletes=25, work_bucket=WORK_BUCKET
    )
    assert output["lock"] == {"etag": '"lock-etag"', "requests": {}}
    assert taken == [(WORK_BUCKET, "my-data-copy", EXECUTION_ARN)]  # only a valid input gets as far as the lock


def test_the_deployment_limits_come_from_the_environment_the_template_sets():
    limits = Limits.from_environment({"SOURCE_BUCKETS": "a-*,b", "DESTINATION_BUCKETS": "", "MAX_DELETES": ""})
    assert limits == Limits(("a-*", "b"), (), -1)
    with pytest.raises(InvalidInputError) as raised:
        parse_input({"source": "ccc", "destination": "ddd"}, RUN_ID, WORK_BUCKET, limits)
    assert str(raised.value).startswith(
        "'source' is 'ccc', which this deployment may not use: SOURCE_BUCKETS "
        "allows a-*, b. Add it to SOURCE_BUCKETS in fabfile_config.py"
    )
    assert parse_input({"source": "a-1", "destination": "ddd"}, RUN_ID, WORK_BUCKET, limits).source == "a-1"


def test_the_handler_raises_the_named_error_for_bad_input():
    with pytest.raises(InvalidInputError, match="'destinaton'"):
        validate_input.handler(
            {"executionArn": EXECUTION_ARN, "runId": RUN_ID, "input": {"source": "my-data", "destinaton": "b"}}, None
        )


@pytest.mark.parametrize("requester_pays", [True, False])
def test_requester_pays_is_carried_in_the_run(requester_pays):
    run = parse_input(event(requesterPays=requester_pays), RUN_ID, WORK_BUCKET)
    assert run.requester_pays is requester_pays
    assert SyncRun.from_json(run.to_json()).requester_pays is requester_pays


def test_fab_syncs_requester_pays_option_becomes_the_input_field():
    from client import executions

    assert executions.sync_input("my-data", "my-data-copy", requester_pays=True) == {
        "source": "my-data",
        "destination": "my-data-copy",
        "requesterPays": True,
    }
    assert "requesterPays" not in executions.sync_input("my-data", "my-data-copy")


def test_fab_syncs_plan_first_and_list_ranges_options_become_the_input_fields():
    from client import executions

    assert executions.sync_input("my-data", "my-data-copy", plan_first=True, settings={"listRanges": 4}) == {
        "source": "my-data",
        "destination": "my-data-copy",
        "planFirst": True,
        "settings": {"listRanges": 4},
    }
    assert "planFirst" not in executions.sync_input("my-data", "my-data-copy")
    with pytest.raises(executions.SyncInputError, match="'listRanges' is at most 256"):
        executions.sync_input("my-data", "my-data-copy", settings={"listRanges": 300})
