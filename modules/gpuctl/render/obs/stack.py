"""Helm values for kube-prometheus-stack when the site asks gpuctl to install it (`observability.prometheus:
install`): Alertmanager routed to the site's receivers, the Grafana sidecar loading gpuctl's dashboard ConfigMaps.
Keys from the chart's values.yaml (kube-prometheus-stack 88.5.3: `alertmanager.config`,
`prometheus.prometheusSpec.*SelectorNilUsesHelmValues`; its Grafana subchart: `sidecar.dashboards.label`,
`labelValue`, `searchNamespace`). Written by `gpuctl obs render`; installing the release is the deployer's step."""

from __future__ import annotations

from typing import Any

from ...model import Site
from .alertmanager import alertmanager_config


def kube_prometheus_stack_values(site: Site) -> dict[str, Any] | None:
    o = site.observability
    if o.prometheus != "install":
        return None
    (label, value), *_ = o.dashboard_labels.items() or [("grafana_dashboard", "1")]
    return {
        "alertmanager": {"config": alertmanager_config(site)},
        "prometheus": {
            "prometheusSpec": {
                # select gpuctl's monitors and rules by the release label (the chart's default, stated)
                "serviceMonitorSelectorNilUsesHelmValues": True,
                "podMonitorSelectorNilUsesHelmValues": True,
                "ruleSelectorNilUsesHelmValues": True,
            }
        },
        "grafana": {
            "sidecar": {"dashboards": {"enabled": True, "label": label, "labelValue": value, "searchNamespace": "ALL"}}
        },
    }
