"""Render the SAM template ``fab template`` would print, for ``make check``'s cfn-lint, into a folder given as argument.

The same code path as ``fab template`` (load_config on a file, pipeline.plan, render_template), from throwaway
config files in a temporary folder: the shipped fabfile_config_template.py as it is (any bucket, no KMS key), and
the same with bucket allow-lists and KMS keys, whose policies take the other branches. The user's own
fabfile_config.py and environment (AWS_REGION, AWS_PROFILE) play no part. Like ``fab template``, it writes the
package zip into build/ (ignored by git) and talks to no AWS endpoint.

Usage: python .ci/render_templates.py OUT_DIR   (writes OUT_DIR/<name>.json, one per config)
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy import pipeline  # noqa: E402  (the project root is put on the path first)
from deploy.config import load_config  # noqa: E402
from deploy.errors import DeployError  # noqa: E402
from deploy.template import render_template  # noqa: E402

SHIPPED = (ROOT / "fabfile_config_template.py").read_text(encoding="utf-8")
CONFIGS = {
    "shipped": SHIPPED,
    "allow-lists-and-kms": SHIPPED
    + """
SOURCE_BUCKETS = ["source-data", "logs-*"]
DESTINATION_BUCKETS = ["mirror-data"]
KMS_KEYS = [
    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "alias/data-key",
]
""",
}


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    project = pipeline.Project(ROOT)
    with tempfile.TemporaryDirectory() as scratch:
        for name, text in CONFIGS.items():
            config_file = Path(scratch) / name / "fabfile_config.py"
            config_file.parent.mkdir()
            config_file.write_text(text, encoding="utf-8")
            try:
                config = load_config(config_file, environ={})
                rendered = render_template(pipeline.plan(project, config).template)
            except DeployError as error:
                print(f"render_templates: the {name} config: {error}", file=sys.stderr)
                return 1
            (out_dir / f"{name}.json").write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
