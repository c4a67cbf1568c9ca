"""A lab of fake GPU hosts on one machine: network namespaces, an overlay root per host on a separately built
Debian base, sshd as PID 1, and a signed apt repository of stand-in NVIDIA packages. Needs root."""
