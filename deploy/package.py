"""Packaging: zip ``lambda_functions/`` into one deterministic deployment package named by its content hash.

The only stage that writes to disk. Same sources give the same bytes (fixed timestamps, modes and order), so an
unchanged tree has the same hash and is never uploaded twice.
"""

import hashlib
import zipfile
from pathlib import Path

from .specs import Package

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
"""The earliest date a zip can hold: file times must not change the hash."""

EXCLUDED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})


def package_files(source: Path) -> list[Path]:
    """Every file the package holds, relative to ``source``, in a stable order."""
    return sorted(
        path.relative_to(source)
        for path in source.rglob("*")
        if path.is_file()
        and not EXCLUDED_PARTS.intersection(path.relative_to(source).parts)
        and path.suffix not in EXCLUDED_SUFFIXES
    )


def build_package(source: Path, build_dir: Path) -> Package:
    """Zip every handler and shared module under ``source`` into ``build_dir/<sha256>.zip``."""
    build_dir.mkdir(parents=True, exist_ok=True)
    staging = build_dir / "package.zip.partial"
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for relative in package_files(source):
            info = zipfile.ZipInfo(relative.as_posix(), date_time=FIXED_DATE_TIME)
            info.external_attr = 0o644 << 16  # world-readable: Lambda runs code as a non-owner user
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (source / relative).read_bytes())
    sha256 = hashlib.sha256(staging.read_bytes()).hexdigest()
    path = build_dir / f"{sha256}.zip"
    staging.replace(path)
    return Package(path=str(path), sha256=sha256)
