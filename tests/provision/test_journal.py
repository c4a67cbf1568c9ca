"""The run journal: which hosts `--resume` picks after runs that ended, failed, were killed, or failed verify."""

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
    j.finish_run(dict.fromkeys(HOSTS, "ok"))
    assert j.resumable() == []


def test_a_killed_run_leaves_every_host_pending(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    Journal(path).start_run("r1", "rack-a", ["h2", "h1"])  # the controller dies here: finish_run never runs
    reread = Journal(path)
    assert reread.data["last_run"]["hosts"] == {"h1": "pending", "h2": "pending"}
    assert reread.data["last_run"]["finished"] is None
    assert reread.resumable() == ["h1", "h2"]


def test_failed_and_unreachable_hosts_are_resumed_ok_ones_not(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run({"h1": "ok", "h2": "failed", "h3": "unreachable", "h4": "ok"})
    assert j.resumable() == ["h2", "h3"]


def test_a_host_the_run_never_reported_stays_pending(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run({"h1": "ok", "h2": "ok"})  # h3, h4 absent from the stats
    assert j.resumable() == ["h3", "h4"]


def test_a_failed_verify_adds_hosts_the_run_found_ok(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.start_run("r1", "all", HOSTS)
    j.finish_run({"h1": "ok", "h2": "failed", "h3": "ok", "h4": "ok"})
    j.record_verify({"h1": "passed", "h2": "passed", "h3": "failed", "h4": "passed"})
    # h2: its run failed (a passing verify does not clear that); h3: its verify failed.
    assert j.resumable() == ["h2", "h3"]


def test_verify_alone_without_any_run(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.record_verify({"h1": "failed", "h2": "passed"})
    assert j.resumable() == ["h1"]


def test_a_new_run_replaces_the_last_one_and_verify_persists(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    j = Journal(path)
    j.start_run("r1", "all", HOSTS)
    j.finish_run({"h1": "failed", "h2": "failed", "h3": "ok", "h4": "ok"})
    j.record_verify({"h4": "failed"})
    j.start_run("r2", "h1,h2", ["h1", "h2"])  # --resume
    j.finish_run({"h1": "ok", "h2": "ok"})
    reread = Journal(path)
    assert reread.data["last_run"]["id"] == "r2"
    assert reread.data["last_run"]["target"] == "h1,h2"
    assert set(reread.data["last_run"]["hosts"]) == {"h1", "h2"}
    assert reread.resumable() == ["h4"]  # the earlier verify failure still stands
    reread.record_verify({"h4": "passed"})
    assert Journal(path).resumable() == []


def test_finish_without_start_records_the_statuses(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.json")
    j.finish_run({"h1": "unreachable"})
    assert j.resumable() == ["h1"]
    assert j.data["last_run"]["finished"] is not None


def test_the_file_is_json_and_sorted(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.json"
    j = Journal(path)
    j.start_run("r1", "all", ["b", "a"])
    text = path.read_text()
    assert text.endswith("\n")
    data = json.loads(text)
    assert list(data["last_run"]) == sorted(data["last_run"])
    assert list(data["last_run"]["hosts"]) == ["a", "b"]
