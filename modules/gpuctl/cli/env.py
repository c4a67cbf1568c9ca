"""Every GPUCTL_* environment variable, declared once and named in help texts."""

from __future__ import annotations

import os

DEBUG = "GPUCTL_DEBUG"  # 1: show Python tracebacks for unexpected errors
STRICT = "GPUCTL_STRICT"  # 1: warnings fail `validate` as errors do
FORMAT = "GPUCTL_FORMAT"  # default output format of reporting commands
SECRETS_FILE = "GPUCTL_SECRETS_FILE"  # `provision --secrets-file`: 0600 YAML of secret role variables


def flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
