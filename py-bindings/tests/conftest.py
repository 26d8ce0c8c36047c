"""Shared fixtures for the ovakit Python package tests."""

import os
import pathlib

import pytest

from ovakit_helpers import build_ova, missing

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture
def corpus() -> pathlib.Path:
    """The shared test corpus beside the checkout."""
    if not CORPUS.is_dir():
        missing(f"test corpus {CORPUS} is missing")
    return CORPUS


@pytest.fixture
def descriptor(corpus) -> bytes:
    """A real OVF descriptor from the corpus."""
    return (corpus / "ovf" / "cot" / "minimal.ovf").read_bytes()


@pytest.fixture
def small_ova(tmp_path, descriptor) -> pathlib.Path:
    """An OVA with a descriptor, a manifest and one small disk file."""
    return build_ova(tmp_path / "small.ova", descriptor, {"disk1.vmdk": b"\x01" * 5000})


@pytest.fixture
def big_ova(tmp_path, descriptor) -> pathlib.Path:
    """An OVA whose disk is large enough for many progress callbacks (1 MiB each)."""
    return build_ova(tmp_path / "big.ova", descriptor, {"disk1.vmdk": os.urandom(48 << 20)})
