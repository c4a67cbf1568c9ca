"""The site's PKI: a CA, server and client certificates from the spec, rotation with overlap, expiry.

Sits at the provision/infra layer (it writes key files); the pure part, which certificates a site needs, is
`gpuctl.render.security.certs`.
"""

from .expiry import Status, statuses
from .gateway import engine_files, gateway_files, write_engine_files, write_gateway_files
from .issue import Outcome, issue, make_ca, make_leaf, rotate
from .store import PkiError, Store

__all__ = [
    "Outcome",
    "PkiError",
    "Status",
    "Store",
    "engine_files",
    "gateway_files",
    "issue",
    "make_ca",
    "make_leaf",
    "rotate",
    "statuses",
    "write_engine_files",
    "write_gateway_files",
]
