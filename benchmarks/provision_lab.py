"""Benchmark: `gpuctl provision` of 16 lab hosts vs a plain `ansible-playbook` run of the same playbooks
with Ansible's defaults (forks 5, linear strategy, no pipelining, no mitogen, every result printed), first and second
run, in one run. What the playbooks themselves declare applies to both (the facts site.yml gathers, its one
argument-check task, the includes a no-change run skips).

Needs root. Prints lab up time, the four wall times of each round with the load average after each, and the median
ratios. The same code's first run varied from 157 to 218 s on this 2-core machine within one quiet hour (the lab's
hosts share its cores): one round can land on either side of a target, so `--repeat N` runs N rounds with the sides'
order alternating. The lab is the one GPUCTL_LAB_PREFIX, GPUCTL_LAB_SUBNET and GPUCTL_LAB_DIR name (as for
`gpuctl lab up`), so the benchmark can run beside other labs. Run: sudo python benchmarks/provision_lab.py --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gpuctl.lab import core  # noqa: E402
from gpuctl.loader import load_site  # noqa: E402
from gpuctl.provision.inventory import write_inventory  # noqa: E402
from gpuctl.provision.roles import PROJECT_DIR  # noqa: E402

SITE = ROOT / "benchmarks" / "_generated" / "lab16.yaml"


def write_site() -> None:
    """The lab site with its one rack replaced by 16 servers; what refers to the lab's servers (node pools,
    deployments, clients) is left out, the rest kept: the lab's firewall is off (its controller is not on the
    spec's management network: with the default firewall the second run would be shut out)."""
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "site.yaml").read_text())
    models = ["lab-2u-4xl40s", "dgx-h100", "lab-1u-4xl4", "lab-2u-4xl40s"]
    servers = []
    pos = 1
    for i in range(16):
        model = models[i % 4]
        servers.append(
            {
                "name": f"bench-{i:02d}",
                "model": model,
                "position_u": pos,
                "addresses": [{"network": "mgmt", "ip": f"10.60.0.{20 + i}"}],
            }
        )
        pos += 8 if model == "dgx-h100" else 2
    lab["name"] = "bench16"  # its own journal and lock, apart from the lab tests' site
    lab["racks"] = [
        {
            "name": "bench-a",
            "height_u": 60,
            "static_weight_rating_kg": 3000,
            "cooling": {"type": "dlc", "capacity_kw": 120},
            "power": {"a": {"circuits": [{"voltage_v": 415, "amps": 63, "phases": 3, "count": 4}]}},
            "servers": servers,
        }
    ]
    for key in ("node_pools", "deployments"):
        lab.pop(key, None)
    lab["security"] = {"firewall": lab["security"]["firewall"]}
    SITE.parent.mkdir(exist_ok=True)
    SITE.write_text(yaml.safe_dump(lab, sort_keys=False))


def load() -> str:
    """The machine's load average (1, 5, 15 min) after a run: the times move with it on a shared machine."""
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def gpuctl_run() -> float:
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gpuctl.cli.app import main; main()",
            "provision",
            "all",
            "--site",
            str(SITE),
            "--lab",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if not out.stdout.startswith("{"):
        raise SystemExit(f"gpuctl provision printed no result (rc {out.returncode}): {out.stderr[-2000:]}")
    data = json.loads(out.stdout)
    status = f"status {data['status']}, changed {data['changed']}"
    print(f"  gpuctl provision: {elapsed:6.1f} s, {status}, {load()}", flush=True)
    return elapsed


def plain_run(inventory: Path) -> float:
    env = {
        **os.environ,
        "ANSIBLE_ROLES_PATH": str(PROJECT_DIR / "playbooks" / "roles"),
        "ANSIBLE_LIBRARY": str(PROJECT_DIR / "playbooks" / "library"),
        "ANSIBLE_NOCOLOR": "1",
    }
    start = time.perf_counter()
    out = subprocess.run(
        ["ansible-playbook", "-i", str(inventory), "site.yml"],
        cwd=PROJECT_DIR / "playbooks",
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    recap = out.stdout[out.stdout.rfind("PLAY RECAP") :]
    changed = sum(int(part.split("=")[1]) for part in recap.split() if part.startswith("changed="))
    status = f"rc {out.returncode}, changed {changed}"
    print(f"  ansible-playbook (defaults): {elapsed:6.1f} s, {status}, {load()}", flush=True)
    return elapsed


def one_side(side: str, state: core.LabState) -> tuple[float, float]:
    """First and no-change run of one side on the fresh lab hosts `state` describes."""
    if side == "gpuctl":
        return gpuctl_run(), gpuctl_run()
    inventory = SITE.parent / "lab16-inventory.yml"
    write_inventory(load_site(SITE).site, SITE, inventory, core.inventory_overlay(state))
    return plain_run(inventory), plain_run(inventory)


def main() -> None:
    """`--repeat N` (default 1): N rounds, each side on fresh hosts, the order alternating between rounds (gpuctl
    first in odd rounds) so that a drift in the machine's load does not favour one side; the median of each
    round's ratios is the result, with every round printed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="rounds (default 1)")
    repeat = parser.parse_args().repeat
    write_site()
    rounds: list[dict[str, float]] = []
    lab_up = 0.0
    for n in range(repeat):
        print(f"round {n + 1} of {repeat}", flush=True)
        results: dict[str, float] = {}
        for side in ("gpuctl", "plain") if n % 2 == 0 else ("plain", "gpuctl"):
            start = time.perf_counter()
            state = core.up(SITE)  # fresh hosts for each side
            if not lab_up:
                lab_up = time.perf_counter() - start
                print(f"lab up: {len(state.hosts)} hosts in {lab_up:.2f} s", flush=True)
            try:
                results[f"{side}_first"], results[f"{side}_second"] = one_side(side, state)
            finally:
                core.down()
        rounds.append(results)
    for run, target in (("first", 0.40), ("second", 0.33)):
        ratios = [r[f"gpuctl_{run}"] / r[f"plain_{run}"] for r in rounds]
        each = ", ".join(
            f"{r[f'gpuctl_{run}']:.1f}/{r[f'plain_{run}']:.1f} = {r[f'gpuctl_{run}'] / r[f'plain_{run}']:.2f}"
            for r in rounds
        )
        print(
            f"{run} run: gpuctl/defaults per round {each} -> median ratio {statistics.median(ratios):.2f} "
            f"(target <= {target:.2f})"
        )
    print(f"lab up: {lab_up:.2f} s for 16 hosts (target < 3 s)")


if __name__ == "__main__":
    main()
