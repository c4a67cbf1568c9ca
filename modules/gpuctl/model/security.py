"""Who may call which model, who may change what, and how the site's traffic is protected.

`security.clients` are API identities: each gets a client certificate from the site CA whose common name is the
identity's name; the gateway maps that name to the deployments and endpoints it may call. `security.teams` are
operator teams: Kubernetes Roles in the namespaces they run. `ca`, `certificates`, `gateway` and `firewall` set the
site's PKI, its mTLS gateway and the host packet filter; `compliance` turns on the rules a regulated workload needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from .base import DnsLabel, Host, ImageRef, LocalPath, Name, ServiceName, Strict
from .serving import Cidr

# The OpenAI-compatible surface a client may be given. vLLM serves more on the same port (/invocations,
# /pause, /update_weights, /collective_rpc, /sleep, /tokenize ...), several unauthenticated even with --api-key:
# vLLM docs, Security (https://docs.vllm.ai/en/latest/usage/security.html). The gateway denies everything else.
OPENAI_ENDPOINTS: tuple[str, ...] = ("/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/embeddings")

# Ports of the distributed runtime that are insecure by design and must stay inside a pool (vLLM docs, Security,
# "Inter-node communication"): torch.distributed's default MASTER_PORT (PyTorch, torch.distributed.run
# --master-port default 29500, https://pytorch.org/docs/stable/elastic/run.html) and vLLM's KV-transfer port
# (KVTransferConfig.kv_port default 14579, vllm/config/kv_transfer.py in vllm 0.33.0). NCCL's own sockets use
# ephemeral ports (NCCL_SOCKET_IFNAME picks the interface, not the port), so the host policy allows the pool's
# addresses every port and nothing else.
DISTRIBUTED_PORTS: dict[int, str] = {29500: "torch.distributed master", 14579: "vLLM KV transfer"}

ApiPath = Annotated[str, StringConstraints(max_length=200, pattern=r"^/[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")]
Port = Annotated[int, Field(ge=1, le=65535)]
Days = Annotated[int, Field(ge=1, le=7300)]
Compliance = Literal["none", "hipaa", "soc2", "fedramp"]


class RateLimit(Strict):
    """Per-identity request rate at the gateway (nginx limit_req: a leaky bucket keyed by the client name)."""

    requests_per_second: int = Field(ge=1, le=100_000)
    burst: int = Field(default=0, ge=0, le=100_000, description="Requests allowed above the rate, then 429.")


class ApiClient(Strict):
    """One API identity: its client certificate's CN is `name`."""

    name: Name
    team: Name
    deployments: list[ServiceName] = Field(min_length=1, description="Deployments (models) it may call.")
    endpoints: list[ApiPath] = Field(
        default_factory=lambda: list(OPENAI_ENDPOINTS), min_length=1, description="API paths it may call."
    )
    rate_limit: RateLimit | None = None


class OperatorTeam(Strict):
    """An operator team: what it may change (access) in which namespaces. `group` is the Kubernetes group its
    members authenticate as (the identity provider's group claim); default `gpuctl:team:<name>`."""

    name: Name
    namespaces: list[DnsLabel] = Field(min_length=1)
    access: Literal["view", "operate", "admin"] = Field(
        description="view: read serving objects; operate: + scale and restart; admin: + change them."
    )
    group: str | None = Field(default=None, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9:._@-]*$")

    @property
    def subject_group(self) -> str:
        return self.group or f"gpuctl:team:{self.name}"


class CertificateAuthority(Strict):
    """generated: `gpuctl pki issue` makes a site CA (key 0600 beside the site); external: an existing issuer's
    certificate and key files (the key file must be 0600)."""

    source: Literal["generated", "external"] = "generated"
    cert_file: LocalPath | None = None
    key_file: LocalPath | None = None

    @model_validator(mode="after")
    def _external_has_files(self) -> CertificateAuthority:
        if (self.source == "external") != (self.cert_file is not None and self.key_file is not None):
            raise ValueError("an external CA needs cert_file and key_file; a generated one takes neither")
        return self


class CertificateLifetimes(Strict):
    ca_days: Days = 3650
    server_days: Days = 90
    client_days: Days = 30
    renew_before_days: Days = Field(
        default=14, description="Rotation overlap: renew this long before expiry; old and new are both valid."
    )

    @model_validator(mode="after")
    def _overlap_fits(self) -> CertificateLifetimes:
        shortest = min(self.server_days, self.client_days)
        if self.renew_before_days >= shortest:
            raise ValueError(
                f"renew_before_days {self.renew_before_days} must be below the shortest lifetime ({shortest} days)"
            )
        if max(self.server_days, self.client_days) > self.ca_days:
            raise ValueError("leaf certificates cannot outlive the CA (ca_days)")
        return self


class Gateway(Strict):
    """The mTLS gateway in front of the engines (nginx; docs/security.md says why)."""

    namespace: DnsLabel = "gpuctl-gateway"
    image: ImageRef = Field(
        default="haproxy:2.6", description="HAProxy 2.6 LTS (the official image runs as uid 99); pin a digest."
    )
    replicas: int = Field(default=2, ge=1, le=100)
    hostnames: list[Host] = Field(
        default_factory=list, max_length=32, description="Names clients reach the gateway by (certificate SANs)."
    )
    port: Port = 8443
    metrics_port: Port = 9145
    client_auth: Literal["mtls", "api_key", "none"] = "mtls"
    sources: list[Cidr] = Field(
        default_factory=list,
        max_length=256,
        description="Addresses the gateway reaches engine hosts from: the only sources of serving ports at the hosts.",
    )
    upstream_tls: Literal["verify", "skip_verify"] = Field(
        default="verify", description="skip_verify is insecureSkipVerify: the upstream's certificate is not checked."
    )


class FirewallAllow(Strict):
    """An extra host-firewall opening: a port (or every port) from a network or an address block."""

    name: Name
    port: Port | None = Field(default=None, description="None: every port.")
    protocol: Literal["tcp", "udp"] = "tcp"
    from_network: Name | None = None
    from_cidr: Cidr | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FirewallAllow:
        if (self.from_network is None) == (self.from_cidr is None):
            raise ValueError("an opening has either from_network or from_cidr")
        return self


class Firewall(Strict):
    mode: Literal["enforce", "off"] = "enforce"
    rollback_s: int = Field(default=60, ge=10, le=3600, description="Safe apply: revert unless confirmed in time.")
    allow: list[FirewallAllow] = Field(default_factory=list)


class ClusterSecret(Strict):
    """A credential the engines need (model-hub token, registry pull secret) as a Kubernetes Secret in each serving
    namespace. The value never enters the spec: it is the Pulumi stack's secret config `config_key`."""

    name: DnsLabel
    kind: Literal["hub_token", "registry"]
    config_key: str = Field(max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")


class Security(Strict):
    compliance: Compliance = "none"
    monitoring_namespace: DnsLabel = Field(default="monitoring", description="Where Prometheus runs.")
    secrets: list[ClusterSecret] = Field(default_factory=list)
    ca: CertificateAuthority = Field(default_factory=CertificateAuthority)
    certificates: CertificateLifetimes = Field(default_factory=CertificateLifetimes)
    gateway: Gateway = Field(default_factory=Gateway)
    firewall: Firewall = Field(default_factory=Firewall)
    clients: list[ApiClient] = Field(default_factory=list)
    teams: list[OperatorTeam] = Field(default_factory=list)

    def clients_of(self, deployment: str) -> list[ApiClient]:
        return [c for c in self.clients if deployment in c.deployments]


@dataclass(frozen=True)
class IssuedCertificate:
    """One certificate in the site's PKI store, as the loader read it (kind: ca | server | client)."""

    kind: str
    name: str
    not_after: dt.datetime


@dataclass(frozen=True)
class PkiState:
    """What the site's PKI store (pki/ beside the site file) holds, and the time it was read at. The loader reads
    it (the model does no I/O) and passes it in the validation context as `pki`; `Site.pki` gives it to rules."""

    certificates: tuple[IssuedCertificate, ...]
    now: dt.datetime

    def days_left(self, cert: IssuedCertificate) -> float:
        return (cert.not_after - self.now).total_seconds() / 86400


Loc = tuple[str | int, ...]
RESERVED_CLIENT = "gpuctl-gateway"  # the gateway's client certificate (render/security/certs.py GATEWAY)


def security_references(security: Security, deployments: set[str], networks: set[str]) -> Iterator[tuple[Loc, str]]:
    """Clients name declared deployments and teams; names are unique; openings name declared networks."""
    base: Loc = ("security",)
    teams = {t.name for t in security.teams}
    seen: set[str] = set()
    for ci, client in enumerate(security.clients):
        loc = base + ("clients", ci)
        if client.name in seen:
            yield loc + ("name",), f"duplicate client name '{client.name}'"
        if client.name == RESERVED_CLIENT:
            yield loc + ("name",), f"'{RESERVED_CLIENT}' is the gateway's own identity towards the engines"
        seen.add(client.name)
        if teams and client.team not in teams:
            yield loc + ("team",), f"unknown team '{client.team}'; declared: {', '.join(sorted(teams))}"
        for di, dep in enumerate(client.deployments):
            if dep not in deployments:
                yield loc + ("deployments", di), f"unknown deployment '{dep}'"
    if len(teams) != len(security.teams):
        yield base + ("teams",), "duplicate team name"
    for ai, opening in enumerate(security.firewall.allow):
        if opening.from_network is not None and opening.from_network not in networks:
            yield base + ("firewall", "allow", ai, "from_network"), f"unknown network '{opening.from_network}'"
