"""``fab local`` (what ``make local`` runs, the README's first command) as a newcomer runs it: a real process in the
repository, no config file, no credentials; the demo's own mirror check must pass and its output say what it did."""

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

FAB = Path(sys.executable).parent / "fab"


def test_fab_local_deploys_syncs_three_times_checks_the_mirror_and_says_what_next(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["HOME"] = str(tmp_path)  # no ~/.aws, no fabfile_config.py: it needs neither

    ran = subprocess.run([str(FAB), "local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    out = ran.stdout
    assert "Filled the demo buckets:\ndemo-source (us-east-1): 40 daily logs;" in out
    assert out.count("Sync succeeded:") == 4  # three syncs, then a check
    check = out[out.index("4. Check:") :]
    assert "  mode           check\n" in check and "  matching       54\n" in check and "  differing      0\n" in check
    assert "Checked: demo-destination mirrors demo-source, 54 objects with the same keys, sizes and ETags" in out
    assert "Next, against the same kind of endpoint:\n  fab server --port 5000 &" in out
    assert out.rstrip().endswith("Endpoint stopped")
