"""The site model: pydantic, frozen, no I/O. `load` (in loader.py) is the one way in from a file."""

from .hardware import Catalog, CatalogExtension, GpuSpec, NicSpec, PsuSpec, ServerSpec
from .k8s import NodePool, Taint
from .network import AddressAssignment, Bond, Network, Nic, NicPort, SwitchLag
from .power import Circuit, Feed, Pdu, PduBank, PowerCord, RackPower
from .rack import Cooling, Device, Rack, Server, Switch
from .serving import Deployment
from .site import ReferenceProblems, Site, SiteSettings, Suppression

__all__ = [
    "AddressAssignment",
    "Bond",
    "Catalog",
    "CatalogExtension",
    "Circuit",
    "Cooling",
    "Deployment",
    "Device",
    "Feed",
    "GpuSpec",
    "Network",
    "Nic",
    "NicPort",
    "NicSpec",
    "NodePool",
    "Pdu",
    "PduBank",
    "PowerCord",
    "PsuSpec",
    "Rack",
    "RackPower",
    "ReferenceProblems",
    "Server",
    "ServerSpec",
    "Site",
    "SiteSettings",
    "Suppression",
    "Switch",
    "SwitchLag",
    "Taint",
]
