"""Discovery: turn the files in ``lambda_functions/`` and ``state_machines/`` into specs.

Reads files and validates what they say; never talks to AWS and never writes anything.
"""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler
from samtranslator.internal.schema_source.aws_serverless_function import Properties as SamFunctionProperties

from .errors import FrontMatterError, StateMachineDefinitionError
from .specs import FunctionSpec, StateMachineSpec

DEFAULT_PROPERTIES: dict[str, Any] = {
    "Runtime": "python3.12",
    "MemorySize": 128,
    "Timeout": 60,
    "Policies": ["AWSLambdaBasicExecutionRole"],
}
"""Applied to every function for each key its front matter leaves out."""

TOOLKIT_PROPERTIES = frozenset(
    {"Handler", "CodeUri", "InlineCode", "FunctionName", "PackageType", "ImageUri", "ImageConfig"}
)
"""Set by the toolkit from the file name and the deployment package, so a front matter may not set them."""

SAM_FUNCTION_PROPERTIES = frozenset(field.alias for field in SamFunctionProperties.__fields__.values())

LAMBDA_INVOKE_PATTERN = re.compile(r"^arn:[a-z-]+:states:::lambda:invoke")
"""The Lambda integration in any partition (``arn:aws-cn:states:::lambda:invoke`` in China), ``.waitForTaskToken``
included."""

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
"""File names become function and logical IDs; hyphens and capitals would make two files map to one ID."""


class CommentedYAMLHandler(YAMLHandler):
    """YAML front matter whose every line is a Python comment (``# ---`` ... ``# ---``), as in the 2015 sample."""

    FM_BOUNDARY = re.compile(r"^#\s?-{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "# ---"

    def detect(self, text: str) -> bool:
        return bool(self.FM_BOUNDARY.match(text))

    def split(self, text: str) -> tuple[str, str]:
        parts = self.FM_BOUNDARY.split(text, 2)
        if len(parts) != 3:
            raise FrontMatterError("the front matter block has no closing '# ---' line")
        _, block, content = parts
        lines = block.strip("\n").splitlines()
        for number, line in enumerate(lines, start=2):
            if line.strip() and not line.startswith("#"):
                raise FrontMatterError(
                    f"line {number} of the front matter block does not start with '#'; "
                    "every line between '# ---' and '# ---' must be a comment"
                )
        return "\n".join(re.sub(r"^# ?", "", line) for line in lines), content


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int_range(low: int, high: int):
    def check(value: Any) -> str | None:
        if not _is_int(value) or not low <= value <= high:
            return f"a whole number from {low} to {high}"
        return None

    return check


def _check_str(value: Any) -> str | None:
    return None if isinstance(value, str) else "a string"


def _check_policies(value: Any) -> str | None:
    if isinstance(value, (str, dict)) or (isinstance(value, list) and all(isinstance(p, (str, dict)) for p in value)):
        return None
    return "a managed policy name, a policy document, or a list of them"


def _check_environment(value: Any) -> str | None:
    if (
        isinstance(value, dict)
        and set(value) == {"Variables"}
        and isinstance(value["Variables"], dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value["Variables"].items())
    ):
        return None
    return "a mapping with one key, Variables, mapping names to strings (quote numbers)"


def _check_architectures(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1 and value[0] in ("x86_64", "arm64"):
        return None
    return "a list with one of x86_64 or arm64"


def _check_runtime(value: Any) -> str | None:
    if isinstance(value, str) and re.fullmatch(r"python3\.(1[2-9]|[2-9]\d)", value):
        return None
    return "a Python runtime of python3.12 or newer, such as python3.12"


_CHECKS = {
    "Description": _check_str,
    "MemorySize": _check_int_range(128, 10240),
    "Timeout": _check_int_range(1, 900),
    "ReservedConcurrentExecutions": _check_int_range(0, 100_000),
    "Policies": _check_policies,
    "Environment": _check_environment,
    "Architectures": _check_architectures,
    "Runtime": _check_runtime,
}
"""Type checks for the properties people set most; the rest are checked by cfn-lint and CloudFormation."""


def read_front_matter(path: Path) -> dict[str, Any] | None:
    """The front matter of one Lambda file, or None when the file has none (a helper module)."""
    text = path.read_text(encoding="utf-8")
    handler = CommentedYAMLHandler()
    if not handler.detect(text):
        return None
    try:
        block, _ = handler.split(text)
        metadata = handler.load(block)
    except FrontMatterError as error:
        raise FrontMatterError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise FrontMatterError(f"{path}: the front matter block is not valid YAML: {error}") from None
    if not isinstance(metadata, dict):
        raise FrontMatterError(f"{path}: the front matter must be a mapping of property names to values")
    return dict(metadata)


def validate_properties(path: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Front matter properties checked against AWS::Serverless::Function, with defaults applied."""
    for key, value in metadata.items():
        if key in TOOLKIT_PROPERTIES:
            raise FrontMatterError(
                f"{path}: '{key}' is set by the deploy toolkit from the file name and package; "
                "remove it from the front matter"
            )
        if key not in SAM_FUNCTION_PROPERTIES:
            raise FrontMatterError(
                f"{path}: unknown key '{key}'; expected AWS::Serverless::Function properties "
                f"such as {', '.join(sorted(_CHECKS))}"
            )
        check = _CHECKS.get(key)
        expected = check(value) if check else None
        if expected:
            raise FrontMatterError(f"{path}: '{key}' is {value!r}; expected {expected}")
    return {**DEFAULT_PROPERTIES, **metadata}


def discover_functions(directory: Path) -> list[FunctionSpec]:
    """Every ``<name>.py`` in ``directory`` that opens with front matter, sorted by name."""
    specs = []
    for path in sorted(directory.glob("*.py")):
        metadata = read_front_matter(path)
        if metadata is None:
            continue
        if not NAME_PATTERN.match(path.stem):
            raise FrontMatterError(
                f"{path}: a Lambda file name must be lower case letters, digits and '_', starting with a letter"
            )
        specs.append(FunctionSpec(name=path.stem, properties=validate_properties(path, metadata)))
    return specs


def discover_state_machines(directory: Path) -> list[StateMachineSpec]:
    """Every ``<name>.yaml`` in ``directory``, parsed, sorted by name."""
    return [load_state_machine(path) for path in sorted(directory.glob("*.yaml"))]


def load_state_machine(path: Path) -> StateMachineSpec:
    if not NAME_PATTERN.match(path.stem):
        raise StateMachineDefinitionError(
            f"{path}: a state machine file name must be lower case letters, digits and '_', starting with a letter"
        )
    try:
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise StateMachineDefinitionError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(definition, dict) or "StartAt" not in definition or "States" not in definition:
        raise StateMachineDefinitionError(f"{path}: an ASL definition needs top-level 'StartAt' and 'States'")
    return StateMachineSpec(name=path.stem, definition=definition)


def lambda_names_in(definition: Any) -> Iterable[tuple[str, str]]:
    """(state name, Lambda reference) for every Task in a definition, nested Parallel and Map states included."""
    for state_name, state in definition.get("States", {}).items():
        if state.get("Type") == "Task":
            reference = task_lambda_reference(state)
            if reference is not None:
                yield state_name, reference
        for branch in state.get("Branches", []):
            yield from lambda_names_in(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from lambda_names_in(state[key])


def task_lambda_reference(state: dict[str, Any]) -> str | None:
    """The Lambda a Task names: its Resource, or FunctionName under the ``lambda:invoke`` integration."""
    resource = state.get("Resource", "")
    if LAMBDA_INVOKE_PATTERN.match(resource):
        name = state.get("Parameters", state.get("Arguments", {})).get("FunctionName")
        return name if isinstance(name, str) and not name.startswith("arn:") else None
    return None if resource.startswith("arn:") else resource
