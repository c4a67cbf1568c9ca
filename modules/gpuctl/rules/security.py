"""Security of the serving layer: who can reach each model, what the gateway lets through, what stays inside a pool."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Site
from ..model.security import DISTRIBUTED_PORTS, OPENAI_ENDPOINTS, RESERVED_CLIENT, IssuedCertificate
from . import paths
from .base import Hit, Severity, rule

VLLM_SECURITY = "vLLM docs, Security: https://docs.vllm.ai/en/latest/usage/security.html"
HHS_SECURITY_RULE = (
    "HIPAA Security Rule, 45 CFR 164.312(e)(1) transmission security: https://www.ecfr.gov/current/title-45/"
    "subtitle-A/subchapter-C/part-164/subpart-C/section-164.312"
)
FEDRAMP_SC7 = "NIST SP 800-53 Rev. 5 SC-7 boundary protection: https://doi.org/10.6028/NIST.SP.800-53r5"
RFC5280_VALIDITY = "RFC 5280, 4.1.2.5 Validity: https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5"
NIST_800_207 = "NIST SP 800-207 Zero Trust Architecture, 2.1 tenets: https://doi.org/10.6028/NIST.SP.800-207"


@rule(
    "SEC001",
    "deployment-without-client",
    Severity.WARNING,
    "Each deployment has at least one API identity allowed to call it.",
    "Add the deployment to the `deployments` of a client in security.clients, or remove the deployment.",
    sources=(NIST_800_207,),
)
def deployment_without_client(site: Site) -> Iterator[Hit]:
    """The gateway denies every identity not listed: a deployment no client may call holds GPUs for nothing.
    Applies once the site declares identities (security.clients); before that the gateway is not rendered."""
    if not site.security.clients:
        return
    for dep in site.deployments:
        if not site.security.clients_of(dep.name):
            yield Hit(paths.deployment(dep), "no client in security.clients may call this deployment", "name")


@rule(
    "SEC002",
    "deployment-open-to-everyone",
    Severity.ERROR,
    "No deployment is reachable by any address or without a client identity.",
    "Remove the 0.0.0.0/0 (::/0) client and route callers through the gateway, and set gateway.client_auth to mtls.",
    sources=(VLLM_SECURITY,),
)
def deployment_open_to_everyone(site: Site) -> Iterator[Hit]:
    """An address block of prefix length 0 in a deployment's clients opens the engine port to every address,
    around the gateway; gateway client_auth `none` lets any caller reach every model."""
    for dep in site.deployments:
        for c in dep.clients:
            if c.cidr is not None and c.cidr.prefixlen == 0:
                yield Hit(paths.deployment(dep), f"client {c.cidr} admits every address to the engine port", "clients")
        if site.security.gateway.client_auth == "none":
            yield Hit(paths.deployment(dep), "gateway.client_auth is none: every caller may call it", "name")


@rule(
    "SEC003",
    "client-endpoint-allow-list",
    Severity.ERROR,
    "Clients may call only the OpenAI-compatible endpoints.",
    f"Keep each client's endpoints within {', '.join(OPENAI_ENDPOINTS)}.",
    sources=(VLLM_SECURITY,),
)
def client_endpoint_allow_list(site: Site) -> Iterator[Hit]:
    """vLLM serves /invocations, /pause, /update_weights, /collective_rpc and more on the API port, several
    without authentication: the gateway passes only the allow-list, so a client granted another path is a
    request to open one of these."""
    for client in site.security.clients:
        extra = [e for e in client.endpoints if e not in OPENAI_ENDPOINTS]
        if extra:
            yield Hit(
                f"security.clients[{client.name}]", f"endpoints outside the allow-list: {', '.join(extra)}", "endpoints"
            )


@rule(
    "SEC004",
    "compliance-isolation",
    Severity.ERROR,
    "A site under a compliance profile is isolated from networks shared with other tenants.",
    "Move the servers' addresses to dedicated networks, or set security.compliance to none if no regulated data "
    "is served.",
    sources=(HHS_SECURITY_RULE, FEDRAMP_SC7),
)
def compliance_isolation(site: Site) -> Iterator[Hit]:
    """HIPAA, SOC 2 and FedRAMP workloads must be isolated from shared tenant networks: a server with an address on
    a network the facility shares with other tenants puts regulated traffic beside theirs."""
    profile = site.security.compliance
    if profile == "none":
        return
    shared = {n.name for n in site.networks if n.tenancy == "shared"}
    for rack, server in site.all_servers():
        for a in server.addresses:
            if a.network in shared:
                yield Hit(
                    paths.server(rack, server),
                    f"compliance {profile}: address {a.ip} is on {a.network}, a network shared with other tenants",
                    "addresses",
                )


@rule(
    "SEC005",
    "distributed-ports-outside-pool",
    Severity.ERROR,
    "NCCL, torch.distributed and KV-transfer ports are reachable only from inside their pool.",
    "Set security.firewall.mode to enforce and remove openings that cover ports 29500 or 14579 (or every port).",
    sources=(VLLM_SECURITY,),
)
def distributed_ports_outside_pool(site: Site) -> Iterator[Hit]:
    """The distributed runtime is insecure by design (pickled messages, no authentication). The host policy
    allows a pool's own addresses every port; with the firewall off, or an opening that covers those ports
    for another source, they are reachable from outside the pool."""
    fw = site.security.firewall
    if fw.mode == "off" and site.deployments:
        yield Hit("security.firewall", "the host firewall is off: every port of every GPU host is reachable", "mode")
    for opening in fw.allow:
        covered = (
            sorted(DISTRIBUTED_PORTS) if opening.port is None else [p for p in DISTRIBUTED_PORTS if p == opening.port]
        )
        if covered and opening.protocol == "tcp":
            source = opening.from_network or str(opening.from_cidr)
            shown = ", ".join(f"{p} ({DISTRIBUTED_PORTS[p]})" for p in covered)
            what = "every port" if opening.port is None else f"port {opening.port}"
            yield Hit(f"security.firewall.allow[{opening.name}]", f"opens {what} to {source}: {shown}", "port")


@rule(
    "SEC006",
    "upstream-tls-skip-verify",
    Severity.ERROR,
    "The gateway verifies the certificate of every upstream it forwards to.",
    "Set security.gateway.upstream_tls to verify; gpuctl pki issues the upstream certificates from the site CA.",
    sources=(VLLM_SECURITY, NIST_800_207),
)
def upstream_tls_skip_verify(site: Site) -> Iterator[Hit]:
    """skip_verify is insecureSkipVerify (llm-d's router default): anyone on the path can pose as the engine and
    read every prompt."""
    if site.security.gateway.upstream_tls == "skip_verify":
        yield Hit("security.gateway", "upstream certificates are not verified (insecureSkipVerify)", "upstream_tls")


@rule(
    "SEC007",
    "engine-dev-mode",
    Severity.ERROR,
    "No engine runs with development endpoints switched on.",
    "Remove VLLM_SERVER_DEV_MODE from the deployment's env.",
    sources=(VLLM_SECURITY,),
)
def engine_dev_mode(site: Site) -> Iterator[Hit]:
    """VLLM_SERVER_DEV_MODE=1 adds unauthenticated endpoints that reset caches, sleep the engine and run
    collective RPCs on the workers."""
    for dep in site.deployments:
        value = dep.env.get("VLLM_SERVER_DEV_MODE")
        if value is not None and value.strip().lower() not in ("", "0", "false"):
            yield Hit(paths.deployment(dep), f"VLLM_SERVER_DEV_MODE={value}", "env")


@rule(
    "SEC008",
    "api-key-only",
    Severity.ERROR,
    "Callers prove who they are with a client certificate, not an API key alone.",
    "Set security.gateway.client_auth to mtls and give each caller an identity in security.clients.",
    sources=(VLLM_SECURITY, NIST_800_207),
)
def api_key_only(site: Site) -> Iterator[Hit]:
    """vLLM's --api-key guards /v1 only; a shared bearer key names no caller, cannot be scoped per model and is
    replayed by anyone who reads it once."""
    if site.security.gateway.client_auth == "api_key":
        yield Hit("security.gateway", "an API key is the only control on the API", "client_auth")


def _certificates(site: Site) -> Iterator[tuple[str, str, IssuedCertificate, float]]:
    """(target, what, certificate, days left) for each certificate in the site's store that the site uses now;
    certificates of removed deployments or clients are not judged."""
    pki = site.pki
    if pki is None:
        return
    deps = {d.name: d for d in site.deployments}
    clients = {c.name for c in site.security.clients}
    for cert in pki.certificates:
        if cert.kind == "ca":
            target = "security.ca"
        elif cert.name == RESERVED_CLIENT:
            target = "security.gateway"
        elif cert.kind == "server" and cert.name in deps:
            target = paths.deployment(deps[cert.name])
        elif cert.kind == "client" and cert.name in clients:
            target = f"security.clients[{cert.name}]"
        else:
            continue
        yield target, f"{cert.kind} certificate {cert.name}", cert, pki.days_left(cert)


@rule(
    "SEC009",
    "certificate-expired",
    Severity.ERROR,
    "No certificate the site uses has expired.",
    "Run `gpuctl pki rotate SITE` (with --ca for the CA) and roll the new certificates out.",
    sources=(RFC5280_VALIDITY,),
)
def certificate_expired(site: Site) -> Iterator[Hit]:
    """Past its notAfter a certificate is refused by every peer that checks it: the gateway, the engines and the
    clients stop talking. Read from the site's PKI store (pki/ beside the site file) when there is one."""
    for target, what, cert, left in _certificates(site):
        if left <= 0:
            yield Hit(target, f"{what} expired {-left:.0f} days ago ({cert.not_after:%Y-%m-%d})")


@rule(
    "SEC010",
    "certificate-due-for-renewal",
    Severity.WARNING,
    "No certificate the site uses is within security.certificates.renew_before_days of expiry.",
    "Run `gpuctl pki rotate SITE`: it renews what is due and keeps the old pair valid for the overlap.",
    sources=(RFC5280_VALIDITY,),
)
def certificate_due(site: Site) -> Iterator[Hit]:
    """Rotation with overlap needs the new certificate out before the old one expires; the CA is judged by
    expiry only (rotating it is `pki rotate --ca`, planned, not routine)."""
    renew = site.security.certificates.renew_before_days
    for target, what, cert, left in _certificates(site):
        if cert.kind != "ca" and 0 < left <= renew:
            yield Hit(
                target,
                f"{what} expires in {left:.0f} days ({cert.not_after:%Y-%m-%d}), within renew_before_days {renew}",
            )


RULES = (
    deployment_without_client,
    deployment_open_to_everyone,
    client_endpoint_allow_list,
    compliance_isolation,
    distributed_ports_outside_pool,
    upstream_tls_skip_verify,
    engine_dev_mode,
    api_key_only,
    certificate_expired,
    certificate_due,
)
