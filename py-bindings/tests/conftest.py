"""Shared fixtures for the ovakit Python package tests."""

import os
import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


def missing(reason: str) -> None:
    """Skip the test, or fail it when running under CI (where nothing may be missing)."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def corpus() -> pathlib.Path:
    """The shared test corpus beside the checkout."""
    if not CORPUS.is_dir():
        missing(f"test corpus {CORPUS} is missing")
    return CORPUS
