"""UsageLedger: a journal line per record, snapshots after many, and no count lost or doubled by a crash."""

from __future__ import annotations

from pathlib import Path

from penguin_actors.models.usage import UsageLedger
from penguin_actors.types import Usage


def _totals(ledger: UsageLedger) -> dict[str, int]:
    return dict(ledger.summary(None, {})["total"])


def test_records_survive_a_restart_through_the_journal(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "usage.json")
    for i in range(5):
        ledger.record("c1", "sim", Usage(input_tokens=10, output_tokens=i), at=float(i))
    ledger.record("c2", "sim", Usage(input_tokens=1, output_tokens=1), at=9.0)
    ledger.forget("c2")
    assert not (tmp_path / "usage.json").exists()  # nothing rewritten yet: only journal lines
    again = UsageLedger(tmp_path / "usage.json")
    assert _totals(again) == {"input": 51, "output": 11}
    assert again.summary(None, {})["session_id"] == "c1"  # c2 was forgotten


def test_compaction_keeps_every_count_once(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "usage.json", compact_every=3)
    for _ in range(10):
        ledger.record("c1", "sim", Usage(input_tokens=2, output_tokens=1), at=1.0)
    journals = list(tmp_path.glob("usage.journal.*.jsonl"))
    assert (tmp_path / "usage.json").exists() and len(journals) == 1
    assert len(journals[0].read_text().splitlines()) == 1  # 10 = 3 compactions of 3, then 1
    assert _totals(UsageLedger(tmp_path / "usage.json", compact_every=3)) == {"input": 20, "output": 10}


def test_a_crash_between_snapshot_and_journal_removal_counts_nothing_twice(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "usage.json", compact_every=2)
    ledger.record("c1", "sim", Usage(input_tokens=1, output_tokens=1), at=1.0)
    stale = (tmp_path / "usage.journal.0.jsonl").read_text()
    ledger.record("c1", "sim", Usage(input_tokens=1, output_tokens=1), at=2.0)  # compacts to generation 1
    (tmp_path / "usage.journal.0.jsonl").write_text(stale + stale)  # as if its removal never happened
    again = UsageLedger(tmp_path / "usage.json", compact_every=2)
    assert _totals(again) == {"input": 2, "output": 2}
    assert not (tmp_path / "usage.journal.0.jsonl").exists()


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    ledger = UsageLedger(tmp_path / "usage.json")
    ledger.record("c1", "sim", Usage(input_tokens=3, output_tokens=4), at=1.0)
    with (tmp_path / "usage.journal.0.jsonl").open("a") as journal:
        journal.write('{"c": "c1", "m": "si')
    again = UsageLedger(tmp_path / "usage.json")
    assert _totals(again) == {"input": 3, "output": 4}
    again.record("c1", "sim", Usage(input_tokens=1, output_tokens=1), at=2.0)
    assert _totals(UsageLedger(tmp_path / "usage.json")) == {"input": 4, "output": 5}
