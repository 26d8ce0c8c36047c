"""Type stubs for the native module ``ovakit._ovakit``; import from ``ovakit`` instead."""

__version__: str
