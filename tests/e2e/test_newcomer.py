"""The README's path as a newcomer walks it: real ``fab`` processes, a clean home, the config copied from the
template as it ships, and the three exports the README gives for the embedded endpoint."""

import shutil
import socket
import time

from .test_fab_tasks import CONFIG, fab, fab_project  # noqa: F401 (fab_project is a fixture)

ENDPOINT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
GENEROUS_SECONDS = 10
"""The bound a dead loopback endpoint must fail within: the aim is 3 s; 10 s keeps a loaded machine from failing
the test, and is still well under the 18 to 27 s of botocore's connect retries."""


def clean_machine(monkeypatch, home):
    """No ~/.aws and no AWS setting but the README's exports (AWS_ENDPOINT_URL comes with each fab call)."""
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENDPOINT_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


def test_the_readme_endpoint_flow_deploys_on_a_machine_without_aws_config(
    fab_project,
    endpoint,
    tmp_path,
    monkeypatch,
):
    home = tmp_path / "home"
    home.mkdir()
    clean_machine(monkeypatch, home)
    shutil.copy(fab_project / "fabfile_config_template.py", fab_project / "fabfile_config.py")

    deployed = fab(fab_project, "deploy", endpoint_url=endpoint.url)

    assert deployed.returncode == 0, deployed.stderr
    assert "Stack sync-buckets: " in deployed.stdout
    assert "State machine sync-buckets-demo-" in deployed.stdout
    assert "Traceback" not in deployed.stdout + deployed.stderr
    assert list(home.iterdir()) == []  # nothing was needed from, or written to, the home directory


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the probe is: nothing listens there


def test_a_dead_loopback_endpoint_fails_at_once_with_its_message(fab_project):
    (fab_project / "fabfile_config.py").write_text(CONFIG.format(app="dead-endpoint"))
    url = f"http://127.0.0.1:{closed_loopback_port()}"

    started = time.monotonic()
    ran = fab(fab_project, "deploy", endpoint_url=url)
    seconds = time.monotonic() - started

    assert ran.returncode == 1
    assert f"Error: cannot reach {url}" in ran.stderr
    assert "start the local endpoint with 'fab server'" in ran.stderr
    assert "Traceback" not in ran.stdout + ran.stderr
    assert seconds < GENEROUS_SECONDS, f"{seconds:.1f} s before the message"
