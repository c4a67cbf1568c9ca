"""The run journal: which hosts `--resume` picks after runs that ended, failed, were killed, or failed verify;
records per target and per host."""

from __future__ import annotations

import json
from pathlib import Path

from gpuctl.provision.journal import Journal

HOSTS = ["h1", "h2", "h3", "h4"]


def test_no_journal_means_nothing_to_resume(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    assert j.data == {}
    assert j.resumable() == []


def test_a_run_that_ended_ok_everywhere_leaves_nothing(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run("r1", "all", dict.fromkeys(HOSTS, "ok"))
    assert j.resumable() == []


def test_a_killed_run_leaves_its_unfinished_hosts_pending(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    j = Journal(path)
    j.start_run("r1", "rack-a", ["h2", "h1", "h3"])
    j.host_finished("r1", "h2", "ok")  # h2's batch ended; then the controller dies: finish_run never runs
    reread = Journal(path)
    assert {h: r["status"] for h, r in reread.hosts.items()} == {"h1": "pending", "h2": "ok", "h3": "pending"}
    assert reread.runs["rack-a"]["finished"] is None
    assert reread.resumable() == ["h1", "h3"]


def test_failed_and_unreachable_hosts_are_resumed_ok_ones_not(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run("r1", "all", {"h1": "ok", "h2": "failed", "h3": "unreachable", "h4": "ok"})
    assert j.resumable() == ["h2", "h3"]


def test_a_host_the_run_never_reported_stays_pending(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run("r1", "all", {"h1": "ok", "h2": "ok"})  # h3, h4 absent from the stats
    assert j.resumable() == ["h3", "h4"]


def test_a_failed_verify_adds_hosts_the_run_found_ok(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run("r1", "all", {"h1": "ok", "h2": "failed", "h3": "ok", "h4": "ok"})
    j.record_verify({"h1": "passed", "h2": "passed", "h3": "failed", "h4": "passed"})
    # h2: its run failed (a passing verify does not clear that); h3: its verify failed.
    assert j.resumable() == ["h2", "h3"]


def test_verify_alone_without_any_run(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.record_verify({"h1": "failed", "h2": "passed"})
    assert j.resumable() == ["h1"]


def test_runs_of_two_targets_keep_each_others_records(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    a, b = Journal(path), Journal(path)  # two runs, each with its own view of the file
    a.start_run("ra", "rack-a", ["a1", "a2"])
    b.start_run("rb", "rack-b", ["b1"])
    a.finish_run("ra", "rack-a", {"a1": "ok", "a2": "failed"})
    b.finish_run("rb", "rack-b", {"b1": "ok"})
    reread = Journal(path)
    assert set(reread.runs) == {"rack-a", "rack-b"}
    assert reread.runs["rack-a"]["id"] == "ra" and reread.runs["rack-b"]["id"] == "rb"
    assert reread.resumable() == ["a2"]


def test_verify_persists_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    j = Journal(path)
    j.start_run("r1", "all", HOSTS)
    j.finish_run("r1", "all", {"h1": "failed", "h2": "failed", "h3": "ok", "h4": "ok"})
    j.record_verify({"h4": "failed"})
    j.start_run("r2", "h1,h2", ["h1", "h2"])  # --resume
    j.finish_run("r2", "h1,h2", {"h1": "ok", "h2": "ok"})
    reread = Journal(path)
    assert reread.hosts["h1"] == {"status": "ok", "run": "r2", "target": "h1,h2"}
    assert reread.resumable() == ["h4"]  # the earlier verify failure still stands
    reread.record_verify({"h4": "passed"})
    assert Journal(path).resumable() == []


def test_finish_without_start_records_the_statuses(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.finish_run("r1", "all", {"h1": "unreachable"})
    assert j.resumable() == ["h1"]
    assert j.runs["all"]["finished"] is not None


def test_the_file_is_json_and_sorted(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.json"
    j = Journal(path)
    j.start_run("r1", "all", ["b", "a"])
    text = path.read_text()
    assert text.endswith("\n")
    data = json.loads(text)
    assert list(data["provision"]["hosts"]) == ["a", "b"]


def test_burnin_runs_keep_their_own_section(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    provision = Journal(path)
    provision.start_run("p1", "all", HOSTS)
    provision.finish_run("p1", "all", {"h1": "failed", "h2": "ok", "h3": "ok", "h4": "ok"})
    burnin = Journal(path, "burnin")
    burnin.start_run("b1", "all", HOSTS)
    burnin.finish_run("b1", "all", dict.fromkeys(HOSTS, "ok"))  # a burn-in run does not mend h1's provisioning
    reread = Journal(path)
    assert reread.runs["all"]["id"] == "p1" and reread.hosts["h1"]["status"] == "failed"
    assert Journal(path, "burnin").runs["all"]["id"] == "b1"
    assert reread.resumable() == ["h1"]


def test_verify_of_some_hosts_keeps_the_others_records(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    Journal(path).record_verify({"h1": "failed", "h2": "passed"})
    Journal(path).record_verify({"h2": "failed"})
    assert Journal(path).resumable() == ["h1", "h2"]


def test_a_journal_written_before_the_sections_reads_as_provisioning(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text(json.dumps({"runs": {"all": {"id": "r0"}}, "hosts": {"h1": {"status": "failed"}}}))
    old = Journal(path)
    assert old.runs == {"all": {"id": "r0"}} and old.resumable() == ["h1"]
    assert Journal(path, "burnin").hosts == {}
