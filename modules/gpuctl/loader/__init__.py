"""From files to models: fast parsing, positions only when a message needs them."""

from ..yamlpos import Locator, Position, parse_path
from .site import LoadedSite, load_site, load_site_text
from .tomlpos import syntax_position, toml_position

__all__ = [
    "LoadedSite",
    "Locator",
    "Position",
    "load_site",
    "load_site_text",
    "parse_path",
    "syntax_position",
    "toml_position",
]
