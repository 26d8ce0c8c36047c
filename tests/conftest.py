"""Shared fixtures for the cross-tool interop tests (Python side)."""
import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def binary(name: str) -> pathlib.Path:
    """Path of one of the example binaries built by `cargo build --bins`."""
    base = pathlib.Path(os.environ.get("OVAKIT_BIN_DIR", ROOT / "target" / "debug"))
    path = base / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"binary {path} is missing; run `cargo build --bins` first")
        pytest.skip(f"binary {path} is missing; run `cargo build --bins` first")
    return path


@pytest.fixture
def ova_bin() -> pathlib.Path:
    return binary("ova")


def have(tool: str) -> bool:
    return shutil.which(tool) is not None
