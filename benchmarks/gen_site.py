"""Generate large site specs for benchmarks.

* `generate(n)`: n racks × 8 liquid-cooled 8-GPU servers, 4 NICs each. One rack (rack-0000) is deliberately over
  its contract so the run also pays for locating a finding; `every_rack=True` puts every rack over it (one
  rack-power-budget finding per rack: the cost of locating findings at scale).
* `generate_empty(n)`: n racks with only the required keys (name, weight rating, cooling, power), no findings.

Run: python benchmarks/gen_site.py RACKS OUT.yaml [--every-rack | --empty]
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = """version: 1
name: bench
catalog:
  servers:
    - {id: bench-hgx-4u, name: Bench 4U liquid HGX H100, gpu: h100-sxm5-80gb, gpu_count: 8, max_power_kw: 10.2,
       height_u: 4, weight_kg: 80, psu: {count: 8, rating_w: 3300, redundancy: "4+4"}, liquid_cooled_only: true,
       source: benchmark data}
networks:
  - {name: mgmt, purpose: management, cidr: 10.0.0.0/8, mtu: 1500}
  - {name: data, purpose: data, vlan_id: 100, cidr: 172.16.0.0/12, mtu: 9000}
racks:
"""

RACK = """  - name: rack-{r:04d}
    height_u: 52
    static_weight_rating_kg: 1500
    tare_weight_kg: 200
    cooling: {{type: dlc, capacity_kw: 100}}
    contracted_kw: {contract}
    power:
      a: {{circuits: [{{voltage_v: 415, amps: 63, phases: 3, count: 3}}]}}
      b: {{circuits: [{{voltage_v: 415, amps: 63, phases: 3, count: 3}}]}}
    switches:
      - {{name: leaf-{r:04d}-1, position_u: 52, max_power_kw: 0.6, weight_kg: 10,
         addresses: [{{network: mgmt, ip: {sw1}}}]}}
      - {{name: leaf-{r:04d}-2, position_u: 51, max_power_kw: 0.6, weight_kg: 10,
         addresses: [{{network: mgmt, ip: {sw2}}}]}}
    servers:
"""

SERVER = """      - name: gpu-{r:04d}-{s}
        model: bench-hgx-4u
        position_u: {pos}
        bmc: {{ip: {bmc}, network: mgmt}}
        addresses:
          - {{network: mgmt, ip: {mgmt}, interface: eno1}}
          - {{network: data, ip: {data}, interface: bond0.100}}
        nics:
          - {{name: onboard, ports: [{{name: eno1, speed_gbps: 1, role: management}}]}}
          - name: nic0
            model: connectx-7
            ports:
              - {{name: ens1f0, speed_gbps: 100, mtu: 9000, switch: leaf-{r:04d}-1}}
              - {{name: ens1f1, speed_gbps: 100, mtu: 9000, switch: leaf-{r:04d}-2}}
          - {{name: nic1, model: connectx-7, ports: [{{name: ens2f0, speed_gbps: 400, role: compute, sriov_vfs: 8}}]}}
          - {{name: nic2, model: connectx-7, ports: [{{name: ens3f0, speed_gbps: 400, role: compute, sriov_vfs: 8}}]}}
        bonds:
          - name: bond0
            mode: 802.3ad
            members: [ens1f0, ens1f1]
            lacp_rate: fast
            mii_monitor_interval_ms: 100
            mtu: 9000
            switch_lag: {{kind: mlag, switches: [leaf-{r:04d}-1, leaf-{r:04d}-2]}}
            vlans: [{{id: 100, network: data}}]
"""

EMPTY_RACK = """  - name: rack-{r:05d}
    static_weight_rating_kg: 1000
    cooling: {{type: air_open}}
    power: {{a: {{circuits: [{{voltage_v: 230, amps: 16, phases: 1}}]}}}}
"""


def ip(base: int, n: int) -> str:
    n += 1
    return f"{base}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def ip172(n: int) -> str:
    n += 1
    return f"172.{16 + ((n >> 16) & 15)}.{(n >> 8) & 255}.{n & 255}"


def generate(racks: int, every_rack: bool = False) -> str:
    """70 kW contracted against ~83 kW of servers is a finding; 90 kW is not."""
    parts = [HEADER]
    for r in range(racks):
        parts.append(
            RACK.format(
                r=r,
                contract=70 if r == 0 or every_rack else 90,
                sw1=ip(10, 3 * 10**6 + 2 * r),
                sw2=ip(10, 3 * 10**6 + 2 * r + 1),
            )
        )
        for s in range(8):
            n = r * 8 + s
            parts.append(SERVER.format(r=r, s=s, pos=1 + 4 * s, bmc=ip(10, 10**6 + n), mgmt=ip(10, n), data=ip172(n)))
    return "".join(parts)


def generate_empty(racks: int) -> str:
    return "name: empty\nracks:\n" + "".join(EMPTY_RACK.format(r=r) for r in range(racks))


if __name__ == "__main__":
    racks = int(sys.argv[1])
    out = Path(sys.argv[2])
    kind = sys.argv[3] if len(sys.argv) > 3 else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(generate_empty(racks) if kind == "--empty" else generate(racks, every_rack=kind == "--every-rack"))
