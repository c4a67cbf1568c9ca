"""Provisioning: the inventory rendered from the site, ansible-runner, the run journal, verify with testinfra."""
