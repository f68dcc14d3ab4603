"""One spool for page bodies (`sync.spool`): the backfill's writer and `stage_pages` both use it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from sync.ingest import Staging, stage_pages
from sync.spool import Spool
from sync.store import open_warehouse


def test_bodies_are_spooled_to_numbered_files_and_discarded_once_done(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    spool = Spool(str(tmp_path / "pages"))
    first, second = spool.write('{"data": []}'), spool.write('{"data": [{"id": "ch_1"}]}')
    assert (Path(first).name, Path(second).name) == ("1.json", "2.json")
    assert Path(second).read_text(encoding="utf-8") == '{"data": [{"id": "ch_1"}]}'
    spool.discard([first, str(tmp_path / "pages" / "9.json")])  # one never written: no error
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == ["2.json"]
    spool.close()
    assert not (tmp_path / "pages").exists()


def test_a_temporary_spool_is_gone_when_its_block_ends(tmp_path: Path) -> None:
    with Spool.temporary() as spool:
        path = Path(spool.write("{}"))
        assert path.read_text(encoding="utf-8") == "{}"
    assert not path.parent.exists()


def test_staging_pages_leaves_no_spooled_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = open_warehouse(tmp_path / "master.duckdb")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    staging = Staging()
    try:
        body = json.dumps({"data": [{"id": "prod_1", "object": "product", "created": 1}]})
        stage_pages(con, staging, "products", [body, body])
        assert list(temp.iterdir()) == []
        assert staging.objects == {"products": 2}
    finally:
        con.close()
