"""CrossGuard policy pack: `pulumi preview --policy-pack policy/`. The policies are gpuctl's rule registry."""

from pulumi_policy import PolicyPack

from gpuctl.infra.policies import policies

PolicyPack(name="gpuctl-preflight", policies=policies())
