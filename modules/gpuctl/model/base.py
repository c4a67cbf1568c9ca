"""Shared pieces of the site model: the strict base class and constrained scalar types.

Every string in the spec has a type that says what it may hold. Strings reach hostnames, Kubernetes objects,
apt and systemd files, SSH options and paths on the operator's machine: a pattern per kind rejects what could
change the meaning of the file or command it lands in (control characters and newlines everywhere; quotes,
spaces, `..` and leading dashes where they matter). A test walks the model and fails on any bare `str`.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# Names become hostnames, Kubernetes label values, Pulumi URNs and Ansible group names:
# lower-case DNS-label style keeps them valid everywhere.
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"),
]
# RFC 1123 label (Kubernetes namespaces): lower-case alphanumerics and '-', at most 63.
DnsLabel = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
# RFC 1035 label (Kubernetes Service names): DnsLabel that starts with a letter.
ServiceName = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")]
CatalogId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._+-]{0,80}$")]

# One line of free text: no C0/C1 control characters (newline, tab, escape, NUL), no Unicode line or paragraph
# separators and no bidirectional overrides (text that reads differently from what it holds).
_ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
# Several lines of free text (a suppression's reason): as above, but newlines and tabs are allowed.
_MULTI_LINE = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
Text = Annotated[str, StringConstraints(max_length=300, pattern=_ONE_LINE)]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=_MULTI_LINE)]

# Debian package version: [epoch:]upstream[-revision] (Debian Policy 5.6.12), digits first.
DebVersion = Annotated[str, StringConstraints(max_length=100, pattern=r"^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$")]
# A release version as charts and images tag them: v1.2.3, 0.8.5, 24.9.2-rc1, 0.8.5.post1.
ReleaseVersion = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^v?[0-9]+(\.[0-9]+){0,3}([-+.][A-Za-z0-9]+([.-][A-Za-z0-9]+)*)?$")
]
# POSIX portable user name (useradd's default NAME_REGEX).
UnixUser = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]
_HOSTNAME = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"


def _hostname_or_ip(value: str) -> str:
    """RFC 1123 host name (at most 253 characters) or an IP address."""
    try:
        ip_address(value)
        return value
    except ValueError:
        pass
    import re

    if len(value) > 253 or not re.fullmatch(_HOSTNAME, value):
        raise ValueError("not a host name (RFC 1123: letters, digits, '-' and '.') or an IP address")
    return value


Host = Annotated[
    str, StringConstraints(max_length=253, pattern=r"^[A-Za-z0-9][A-Za-z0-9.:-]*$"), AfterValidator(_hostname_or_ip)
]
# [user@]host[:port] for ssh -J / ProxyJump; IPv6 in brackets.
Bastion = Annotated[
    str,
    StringConstraints(
        max_length=300,
        pattern=rf"^([a-z_][a-z0-9_-]{{0,31}}@)?({_HOSTNAME}|\[[0-9A-Fa-f:.]+\])(:[0-9]{{1,5}})?$",
    ),
]
# A path segment: starts with a letter, digit or '_' (so never '.', '..' or an option like '-oProxyCommand').
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.+@-]*"
# A file on the operator's machine (SSH key, known_hosts): absolute, ~/-relative or relative to the site file.
LocalPath = Annotated[str, StringConstraints(max_length=1024, pattern=rf"^(/|~/)?{_SEGMENT}(/{_SEGMENT})*$")]
# A path inside the repository, relative to the site file, never leaving its directory.
RelativePath = Annotated[str, StringConstraints(max_length=1024, pattern=rf"^{_SEGMENT}(/{_SEGMENT})*$")]
# An absolute path on a managed host.
HostPath = Annotated[str, StringConstraints(max_length=1024, pattern=rf"^(/{_SEGMENT})+$")]
# IANA time zone name (tzdata): Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5, UTC.
TimeZone = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9][A-Za-z0-9_+-]*){0,2}$")
]
# A URL in the characters RFC 3986 allows, minus those that quote or separate in shells and config files.
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#@!&*+,=%\[\]]"
HttpUrl = Annotated[str, StringConstraints(max_length=2048, pattern=rf"^https?://[A-Za-z0-9\[]{_URL_CHARS}*$")]


def _no_userinfo(value: str) -> str:
    if "@" in urlsplit(value).netloc:
        raise ValueError(
            "the URL carries credentials (user:password@), which would be written in plain text into rendered files; "
            "remove them (Alertmanager can read credentials from a file mounted from a Secret: webhook_configs "
            "url_file, http_config credentials_file/password_file, which gpuctl does not render yet)"
        )
    return value


def _outside_https(value: str) -> str:
    """An endpoint outside the site that receives a credential: TLS, and not a host-local or metadata address."""
    url = urlsplit(value)
    if url.scheme != "https":
        raise ValueError("must be https://: the request carries the endpoint's API key, which plain HTTP exposes")
    host = (url.hostname or "").rstrip(".")
    try:
        addr = ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith(".localhost"):
            raise ValueError(f"{host} is this machine, not an outside endpoint") from None
        return value
    addr = getattr(addr, "ipv4_mapped", None) or addr
    if addr.is_loopback or addr.is_link_local or addr.is_unspecified:
        raise ValueError(
            f"{addr} is a loopback, link-local (cloud metadata, 169.254.0.0/16) or unspecified address, not an "
            "outside endpoint: name the provider's https:// API"
        )
    return value


# A URL that must not embed credentials (they would land in rendered files).
NoCredentialsHttpUrl = Annotated[HttpUrl, AfterValidator(_no_userinfo)]
# An https:// endpoint outside the site that gpuctl sends a credential to.
OutsideHttpsUrl = Annotated[HttpUrl, AfterValidator(_no_userinfo), AfterValidator(_outside_https)]
# apt also reads file: mirrors and Helm reads OCI registries.
AptUrl = Annotated[str, StringConstraints(max_length=2048, pattern=rf"^(https?://[A-Za-z0-9\[]|file:/){_URL_CHARS}*$")]
ChartRepoUrl = Annotated[
    str, StringConstraints(max_length=2048, pattern=rf"^(https?|oci)://[A-Za-z0-9\[]{_URL_CHARS}*$")
]
# An OCI image reference (distribution/reference grammar): [registry[:port]/]path[:tag][@sha256:digest].
ImageRef = Annotated[
    str,
    StringConstraints(
        max_length=512,
        pattern=r"^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?/)?"
        r"[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*"
        r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$",
    ),
]

# Numbers are finite (the model config rejects inf and NaN) and bounded where physics bounds them.
PositiveFloat = Annotated[float, Field(gt=0, le=1e6)]
NonNegativeFloat = Annotated[float, Field(ge=0, le=1e6)]
# Integers fit a signed 32-bit int (what most tools downstream store them in); fields bound by physics say so.
PositiveInt = Annotated[int, Field(gt=0, le=2**31 - 1)]
NonNegativeInt = Annotated[int, Field(ge=0, le=2**31 - 1)]
# The largest single racks shipping draw ~130 kW (GB200 NVL72); 1 MW per rack or device is not a rack.
Kilowatts = Annotated[float, Field(gt=0, le=1000)]
NonNegativeKilowatts = Annotated[float, Field(ge=0, le=1000)]
# Loaded racks weigh up to ~1.5 t (NVL72 ~1,360 kg); 20 t is beyond any raised or slab floor position.
Kilograms = Annotated[float, Field(gt=0, le=20_000)]
NonNegativeKilograms = Annotated[float, Field(ge=0, le=20_000)]


class Strict(BaseModel):
    """Every model: unknown keys are errors, instances are immutable, numbers are finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
