"""The AWS SDK of Lambda's Python runtime, installed once for the endpoint's workers.

Lambda code runs against the boto3 and botocore the managed runtime provides, which are older than the
workstation's: a parameter the newer SDK knows is refused there with ``ParamValidationError`` before any request
is sent. So the workers must not import the endpoint's own boto3. ``lambda-runtime-requirements.txt`` pins the
runtime's set exactly; ``ensure_runtime_sdk`` installs it with ``pip install --target`` into a cache directory
named after the file's hash (and the Python version), the first time it is needed, and afterwards only finds
it there: a fresh clone's first endpoint start installs, every later start and test session reuses.

It must not import the SDK it installs (the endpoint's own boto3 is another version), install anything the file
does not pin (``--no-deps``), write outside its cache directory, or print on stdout (``fab server`` prints the
endpoint's URL there, and the tests read it).
"""

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REQUIREMENTS_FILE = Path(__file__).with_name("lambda-runtime-requirements.txt")
CACHE_DIR_NAME = "lambda-runtime-sdk"
COMPLETE_MARKER = ".installed-from"
"""Written last, holding the requirements it was installed from: a directory without it is not trusted."""
INSTALL_TIMEOUT_SECONDS = 600
"""pip downloads about 12 MB (botocore's models are most of it); generous for a slow mirror."""
PIP_OUTPUT_TAIL_CHARS = 3000
"""How much of a failed pip's output the error carries: its last lines say what went wrong."""
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


class RuntimeSdkError(Exception):
    """The Lambda runtime's SDK is not installed and could not be installed; the message says what to do."""


def ensure_runtime_sdk(requirements: Path = REQUIREMENTS_FILE, cache_root: Path | None = None) -> Path:
    """The directory holding the pinned SDK (``boto3/``, ``botocore/``, ...), installing it on first use.

    Safe to call from several processes at once (parallel test sessions, two endpoints): one installs, the
    others wait for it and reuse its directory.
    """
    pins = pinned_versions(requirements)
    root = cache_root if cache_root is not None else default_cache_root()
    target = root / _cache_key(requirements)
    if _is_complete(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    with _install_lock(root):
        if _is_complete(target):  # another process installed it while this one waited for the lock
            return target
        _remove_leftovers(root)
        _install(requirements, pins, target)
    return target


def pinned_versions(requirements: Path = REQUIREMENTS_FILE) -> dict[str, str]:
    """Distribution name (lower case) to its pinned version; every line must be an exact ``name==version``."""
    try:
        text = requirements.read_text(encoding="utf-8")
    except OSError as error:
        raise RuntimeSdkError(f"cannot read {requirements}: {error.strerror}") from error
    pins: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if match is None:
            # A range would install whatever is newest today: not the runtime's SDK, and not reproducible.
            raise RuntimeSdkError(f"{requirements}:{number}: expected an exact pin 'name==version', got {line!r}")
        pins[match.group(1).lower()] = match.group(2)
    if not pins:
        raise RuntimeSdkError(f"{requirements} pins nothing; it must list the runtime's boto3, botocore, ...")
    return pins


def default_cache_root() -> Path:
    """Inside the virtualenv when there is one (ignored by git, removed by ``make clean``), else ~/.cache."""
    if sys.prefix != sys.base_prefix:
        return Path(sys.prefix) / CACHE_DIR_NAME
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "sync-buckets-state-machine" / CACHE_DIR_NAME


def _cache_key(requirements: Path) -> str:
    """The file's content and the Python version: another pin set or interpreter gets its own directory."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    return f"py{sys.version_info.major}.{sys.version_info.minor}-{digest}"


def _is_complete(target: Path) -> bool:
    return (target / COMPLETE_MARKER).is_file()


@contextmanager
def _install_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on a file in the cache root; the kernel releases it if the holder dies."""
    fd = os.open(root / ".install.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _remove_leftovers(root: Path) -> None:
    """Staging directories of installs that were killed half way; only called under the lock."""
    for leftover in _staging_dirs(root):
        shutil.rmtree(leftover, ignore_errors=True)


def _staging_dirs(root: Path) -> Iterator[Path]:
    return (path for path in root.glob(".installing-*") if path.is_dir())


def _install(requirements: Path, pins: dict[str, str], target: Path) -> None:
    """pip install into a staging directory, then rename it into place, so no reader sees half an install."""
    wanted = " ".join(f"{name}=={version}" for name, version in pins.items())
    print(
        f"Installing the Lambda runtime's SDK for the endpoint's workers ({wanted}) into {target} ...",
        file=sys.stderr,
        flush=True,
    )
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=target.parent))
    try:
        _run_pip(requirements, staging)
        staging.chmod(0o755)  # mkdtemp made it private; the installed SDK is for anyone who runs the endpoint
        (staging / COMPLETE_MARKER).write_text(requirements.read_text(encoding="utf-8"), encoding="utf-8")
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _run_pip(requirements: Path, staging: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--requirement",
        str(requirements),
        "--target",
        str(staging),
        "--no-deps",  # the file lists the whole set, as the runtime has it; pip must not pick versions itself
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        "--no-warn-script-location",
        "--quiet",
    ]
    advice = (
        f"The endpoint runs Lambda code against the SDK pinned in {requirements}. Make sure PyPI (or your "
        f"pip index) is reachable and try again, or install it yourself: "
        f"{sys.executable} -m pip install --no-deps --target DIR -r {requirements}, then move DIR to "
        f"{staging.parent / _cache_key(requirements)} and create the file {COMPLETE_MARKER} in it."
    )
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
        )
    except FileNotFoundError as error:
        raise RuntimeSdkError(f"cannot run pip ({error}). {advice}") from error
    except subprocess.TimeoutExpired as error:
        raise RuntimeSdkError(f"pip did not finish within {INSTALL_TIMEOUT_SECONDS} s. {advice}") from error
    if completed.returncode != 0:
        output = completed.stdout.strip()[-PIP_OUTPUT_TAIL_CHARS:]
        raise RuntimeSdkError(
            f"installing the Lambda runtime's SDK failed (pip exited with {completed.returncode}):\n{output}\n{advice}"
        )
