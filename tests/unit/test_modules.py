"""How the code base's packages depend on each other, checked in a fresh interpreter so nothing imported by other
tests can hide a stray import."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).absolute().parents[2]


def modules_loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``statement`` from the project root, as fab does."""
    script = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(output.stdout.splitlines()[-1]))


def test_the_lambda_package_loads_under_one_name_only():
    handlers = ", ".join(path.stem for path in (ROOT / "lambda_functions").glob("*.py"))
    loaded = modules_loaded_by(
        "import fabfile, client.executions, client.console, client.demo\n"
        f"sys.path.insert(0, 'lambda_functions')\nimport {handlers}"
    )
    assert "bucket_sync.inputs" in loaded
    assert not [name for name in loaded if name.startswith("lambda_functions")]


def test_deploy_imports_neither_the_client_nor_the_lambda_code_nor_the_endpoint():
    loaded = modules_loaded_by("import deploy.pipeline, deploy.stack, deploy.template, deploy.config, deploy.aws")
    assert "deploy.pipeline" in loaded
    strays = [name for name in loaded if name.split(".")[0] in {"client", "bucket_sync", "local_endpoint"}]
    assert strays == []
