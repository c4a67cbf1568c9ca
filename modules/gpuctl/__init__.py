"""gpuctl: infrastructure as code for GPU inference sites in colocation."""

__version__ = "0.1.0"
