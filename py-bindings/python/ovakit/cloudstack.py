"""Apache CloudStack: a signed API client, async-job waiting, pagination, and a simulator.

>>> from ovakit.cloudstack import Client
>>> cs = Client.from_env()                                  # doctest: +SKIP
>>> zones = cs.list_zones(available=True)                   # doctest: +SKIP
>>> vm = cs.deploy_virtual_machine(zoneid=zones[0].id, templateid=t, serviceofferingid=o)  # doctest: +SKIP
>>> vm.state                                                # doctest: +SKIP
'Running'
>>> for vm in cs.list_all("listVirtualMachines"):           # doctest: +SKIP
...     print(vm["name"], vm["state"])

The typed calls (``list_zones``, ``register_template``, ``deploy_virtual_machine``...) return the
frozen classes of :mod:`ovakit.results` (``Zone``, ``Template``, ``VirtualMachine``...); the
generic ``request``, ``call_and_wait`` and ``list_all`` return the server's objects as dicts.

For your own tests, ``Simulator`` runs a CloudStack API on loopback::

    with Simulator() as sim:
        cs = sim.client()

Everything here is implemented in Rust (``cloudstack-client``); this module only re-exports it.
"""

from ovakit._ovakit import Client, ListIter, Simulator
from ovakit.results import (
    ApiInfo,
    ApiParam,
    AsyncJob,
    ExtractedTemplate,
    JobOutcome,
    JobProgress,
    OsType,
    ServiceOffering,
    Template,
    VirtualMachine,
    Zone,
)

__all__ = [
    "Client",
    "ListIter",
    "Simulator",
    "ApiInfo",
    "ApiParam",
    "AsyncJob",
    "ExtractedTemplate",
    "JobOutcome",
    "JobProgress",
    "OsType",
    "ServiceOffering",
    "Template",
    "VirtualMachine",
    "Zone",
]
