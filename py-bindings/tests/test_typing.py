"""The stubs and result classes let mypy check users' code: the operator flow example passes
`mypy --strict`, and a typo'd attribute or a dict-style index on a result is reported."""

import re
import subprocess
import sys

import pytest

from .ovakit_helpers import REPO, missing

TYPOS = REPO / "py-bindings" / "tests" / "mypy_cases" / "typos.py"


def mypy(*args):
    try:
        import mypy  # noqa: F401
    except ImportError:
        missing("mypy is not installed (scripts/requirements-test.txt)")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir=/dev/null", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )


def test_operator_flow_passes_mypy_strict():
    out = mypy("--strict", str(REPO / "examples" / "python" / "operator_flow.py"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_reports_every_typo():
    expected = {}
    for number, line in enumerate(TYPOS.read_text().splitlines(), 1):
        m = re.search(r"# typo: ([\w-]+)", line)
        if m:
            expected[number] = m.group(1)
    assert len(expected) >= 8
    out = mypy("--strict", str(TYPOS))
    assert out.returncode == 1, out.stdout + out.stderr
    reported = {}
    for line in out.stdout.splitlines():
        m = re.match(r".*typos\.py:(\d+): error: .*\[([\w-]+)\]$", line)
        if m:
            reported[int(m.group(1))] = m.group(2)
    assert reported == expected, out.stdout


@pytest.mark.parametrize("module", ["ovakit"])
def test_the_package_passes_mypy_strict(module):
    out = mypy("--strict", "-p", module)
    assert out.returncode == 0, out.stdout + out.stderr
