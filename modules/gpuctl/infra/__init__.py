"""Pulumi components for a site. Imports pulumi; nothing else in gpuctl does."""
