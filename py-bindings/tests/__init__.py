"""Tests of the ovakit Python package (a package, so its conftest never shadows another
directory's when pytest collects several test directories at once)."""
