"""What the site's security needs, rendered from the spec: certificates to issue, the gateway's configuration,
cluster objects (NetworkPolicies, ServiceAccounts, Pod Security labels, RBAC, Secrets) and host packet filters."""
