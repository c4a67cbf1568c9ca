"""Observability rendered from the site: Prometheus recording and alerting rules, dashboards, the OpenTelemetry
Collector configuration, and the Kubernetes objects that deliver them (PrometheusRules, ServiceMonitors,
PodMonitors, dashboard ConfigMaps)."""

from .rules import RULE_FILES, rule_files

__all__ = ["RULE_FILES", "rule_files"]
