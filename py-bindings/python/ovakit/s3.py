"""S3: streaming copies from a URL, a file or a file object; server-side copies; ACLs;
multipart-upload housekeeping.

>>> from ovakit.s3 import Client
>>> s3 = Client(endpoint="http://127.0.0.1:9000", region="us-east-1")   # doctest: +SKIP
>>> s3.copy("https://example.com/disk.ova", "images", "disk.ova",
...         acl="public-read", progress=print)                        # doctest: +SKIP

Memory stays bounded (part size x (concurrency + 1)); Ctrl-C or an exception raised by the
progress callback aborts the multipart upload before the exception propagates.

Everything here is implemented in Rust (``s3-stream``); this module only re-exports it.
"""

from ovakit._ovakit import S3Client as Client
from ovakit.results import CopyProgress, CopyReport, MultipartUpload, ObjectInfo

__all__ = ["Client", "CopyProgress", "CopyReport", "MultipartUpload", "ObjectInfo"]
