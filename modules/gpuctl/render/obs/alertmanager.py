"""Alertmanager's routing from the site's receivers: each receiver gets the severities it asks for, as a webhook
(Alertmanager configuration reference, `route`, `receivers`, `webhook_configs`:
https://prometheus.io/docs/alerting/latest/configuration/). Alerts no receiver asked for go to a receiver that
delivers nowhere, so routing stays explicit."""

from __future__ import annotations

from typing import Any

from ...model import Site
from .gpu_facts import HOST_LABEL

NOWHERE = "gpuctl-nowhere"
GROUP_BY = ["alertname", "site", "deployment", "rack", HOST_LABEL, "slo"]


def alertmanager_config(
    site: Site, group_wait: str = "30s", group_interval: str = "5m", repeat_interval: str = "4h"
) -> dict[str, Any]:
    receivers = site.observability.receivers
    routes = [
        {
            "receiver": r.name,
            "matchers": [f'severity=~"{"|".join(r.severities)}"'],
            "continue": True,
        }
        for r in receivers
    ]
    return {
        "route": {
            "receiver": NOWHERE,
            "group_by": GROUP_BY,
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
            "routes": routes,
        },
        "receivers": [
            {"name": NOWHERE},
            *({"name": r.name, "webhook_configs": [{"url": r.webhook_url, "send_resolved": True}]} for r in receivers),
        ],
    }
