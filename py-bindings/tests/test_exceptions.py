"""The exception hierarchy: every class is an OvakitError, builtins where they fit."""

import pytest

import ovakit
from ovakit import exceptions


def test_every_exception_is_exported_and_derives_from_the_base():
    for name in exceptions.__all__:
        cls = getattr(ovakit, name)
        assert cls is getattr(exceptions, name)
        assert issubclass(cls, ovakit.OvakitError)
        assert issubclass(cls, Exception)


@pytest.mark.parametrize(
    ("cls", "parents"),
    [
        (ovakit.NotFoundError, (FileNotFoundError,)),
        (ovakit.ConfigError, (ValueError,)),
        (ovakit.OvfError, (ovakit.OvaError,)),
        (ovakit.ManifestMismatchError, (ovakit.OvaError,)),
        (ovakit.SignatureError, (ovakit.OvaError,)),
        (ovakit.AsyncJobError, (ovakit.CloudStackError,)),
        (ovakit.JobTimeoutError, (ovakit.CloudStackError, TimeoutError)),
    ],
)
def test_subclasses(cls, parents):
    for parent in parents:
        assert issubclass(cls, parent)


def test_attributes_and_message():
    err = ovakit.AsyncJobError("job failed", "deployVirtualMachine", 530, "no capacity", "j-1")
    assert (err.command, err.errorcode, err.errortext, err.job_id) == (
        "deployVirtualMachine",
        530,
        "no capacity",
        "j-1",
    )
    assert str(err) == "job failed"
    nf = ovakit.NotFoundError("cannot open a.ova", "a.ova")
    assert str(nf) == "cannot open a.ova"
    assert nf.filename == "a.ova"
    s3 = ovakit.S3Error("upload failed", 403, "AccessDenied", "u-1")
    assert (s3.status, s3.code, s3.upload_id) == (403, "AccessDenied", "u-1")
