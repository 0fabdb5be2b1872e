"""Front matter: good, missing, malformed, unknown key, wrong type."""

from pathlib import Path

import pytest

from deploy.discover import DEFAULT_PROPERTIES, discover_functions, read_front_matter
from deploy.errors import FrontMatterError

SAMPLE = '''# ---
# Description: "Copy the given keys from source to destination."
# MemorySize: 512
# Timeout: 300
# Policies:
#   - AWSLambdaBasicExecutionRole
# ---
"""Copies keys."""


def handler(event, context):
    return event
'''


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(text)
    return path


def test_front_matter_as_in_the_2015_sample_is_read(tmp_path):
    path = write(tmp_path, "copy_keys", SAMPLE)
    assert read_front_matter(path) == {
        "Description": "Copy the given keys from source to destination.",
        "MemorySize": 512,
        "Timeout": 300,
        "Policies": ["AWSLambdaBasicExecutionRole"],
    }


def test_defaults_fill_the_keys_a_front_matter_leaves_out(tmp_path):
    write(tmp_path, "tiny", "# ---\n# Timeout: 5\n# ---\ndef handler(e, c):\n    return e\n")
    [spec] = discover_functions(tmp_path)
    assert spec.name == "tiny"
    assert spec.handler == "tiny.handler"
    assert spec.properties == {**DEFAULT_PROPERTIES, "Timeout": 5}


def test_any_serverless_function_property_is_accepted(tmp_path):
    write(
        tmp_path,
        "busy",
        "# ---\n# ReservedConcurrentExecutions: 10\n# Architectures: [arm64]\n"
        '# Environment:\n#   Variables:\n#     LEVEL: "debug"\n# Tracing: Active\n# ---\n',
    )
    [spec] = discover_functions(tmp_path)
    assert spec.properties["ReservedConcurrentExecutions"] == 10
    assert spec.properties["Architectures"] == ["arm64"]
    assert spec.properties["Environment"] == {"Variables": {"LEVEL": "debug"}}
    assert spec.properties["Tracing"] == "Active"


def test_files_without_front_matter_are_helpers_not_functions(tmp_path):
    write(tmp_path, "helpers", '"""Shared code."""\nVALUE = 1\n')
    write(tmp_path, "copy_keys", SAMPLE)
    assert [spec.name for spec in discover_functions(tmp_path)] == ["copy_keys"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("# ---\n# MemorySize: 512\n", "no closing '# ---'", id="unclosed-block"),
        pytest.param("# ---\n# MemorySize: [512\n# ---\n", "not valid YAML", id="bad-yaml"),
        pytest.param(
            "# ---\nMemorySize: 512\n# ---\n",
            "line 2 of the front matter block does not start with '#'",
            id="line-not-commented",
        ),
        pytest.param("# ---\n# - 512\n# ---\n", "must be a mapping", id="not-a-mapping"),
    ],
)
def test_malformed_block_names_the_file_and_the_problem(tmp_path, text, expected):
    path = write(tmp_path, "broken", text)
    with pytest.raises(FrontMatterError) as raised:
        discover_functions(tmp_path)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        pytest.param("Memorysize: 512", "Memorysize", "unknown key", id="typo-in-key"),
        pytest.param("MemorySize: big", "MemorySize", "a whole number from 128 to 10240", id="memory-not-a-number"),
        pytest.param("MemorySize: 64", "MemorySize", "a whole number from 128 to 10240", id="memory-too-small"),
        pytest.param("Timeout: 901", "Timeout", "a whole number from 1 to 900", id="timeout-over-lambda-limit"),
        pytest.param("Timeout: true", "Timeout", "a whole number", id="timeout-bool"),
        pytest.param("Description: 5", "Description", "a string", id="description-number"),
        pytest.param("Policies: 5", "Policies", "managed policy name", id="policies-number"),
        pytest.param("Environment: {Variables: {N: 1}}", "Environment", "quote numbers", id="env-value-number"),
        pytest.param("Architectures: x86_64", "Architectures", "a list with one of", id="architectures-not-list"),
        pytest.param("Runtime: python3.9", "Runtime", "python3.12 or newer", id="runtime-too-old"),
        pytest.param("Handler: other.main", "Handler", "set by the deploy toolkit", id="handler-is-ours"),
        pytest.param("CodeUri: ./src", "CodeUri", "set by the deploy toolkit", id="code-uri-is-ours"),
    ],
)
def test_unknown_key_or_wrong_type_names_file_key_and_expectation(tmp_path, line, key, expected):
    path = write(tmp_path, "copy_keys", f"# ---\n# {line}\n# ---\n")
    with pytest.raises(FrontMatterError) as raised:
        discover_functions(tmp_path)
    message = str(raised.value)
    assert str(path) in message and f"'{key}'" in message and expected in message


def test_a_file_name_that_cannot_be_a_logical_id_is_refused(tmp_path):
    write(tmp_path, "Copy-Keys", SAMPLE)
    with pytest.raises(FrontMatterError, match="lower case letters"):
        discover_functions(tmp_path)
