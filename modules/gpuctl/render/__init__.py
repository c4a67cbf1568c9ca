"""Artifacts rendered from a Site: Kubernetes objects, inventories, configuration files. Pure functions."""
