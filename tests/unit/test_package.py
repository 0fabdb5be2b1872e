"""Packaging: deterministic bytes, content-hash name, shared modules in, caches out."""

import os
import zipfile

from deploy.package import build_package


def test_same_sources_give_the_same_hash_whatever_the_file_times(fixture_project, tmp_path):
    first = build_package(fixture_project / "lambda_functions", tmp_path / "a")
    for path in (fixture_project / "lambda_functions").rglob("*.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = build_package(fixture_project / "lambda_functions", tmp_path / "b")
    assert first.sha256 == second.sha256
    assert first.key == f"packages/{first.sha256}.zip"


def test_a_changed_source_changes_the_hash(fixture_project, tmp_path):
    before = build_package(fixture_project / "lambda_functions", tmp_path / "a")
    naming = fixture_project / "lambda_functions" / "common" / "naming.py"
    naming.write_text(naming.read_text() + "\n# changed\n")
    after = build_package(fixture_project / "lambda_functions", tmp_path / "b")
    assert before.sha256 != after.sha256


def test_handlers_and_shared_modules_are_packaged_but_caches_are_not(fixture_project, tmp_path):
    cache = fixture_project / "lambda_functions" / "common" / "__pycache__"
    cache.mkdir()
    (cache / "naming.cpython-311.pyc").write_bytes(b"\0")
    package = build_package(fixture_project / "lambda_functions", tmp_path / "build")
    with zipfile.ZipFile(package.path) as archive:
        assert sorted(archive.namelist()) == [
            "common/__init__.py",
            "common/naming.py",
            "fail_always.py",
            "write_marker.py",
        ]
        assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in archive.infolist())
