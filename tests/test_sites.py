"""Key websites on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from jianwang import Jianwang, SiteInput
from jianwang.domain import Duplicate, InvalidInput, NotFound, SiteCategory, SupervisionTier


def test_add_list_show(jw: Jianwang) -> None:
    s = jw.sites.add(
        SiteInput(
            "Youku",
            ["https://www.Youku.com/", "tudou.com"],
            "video",
            "national",
            contact="legal@youku.example",
            notice_channel="https://jubao.youku.example",
        )
    )
    assert s.id == "S000001" and s.domains == ("youku.com", "tudou.com")
    assert s.category == SiteCategory.VIDEO and s.tier == SupervisionTier.NATIONAL
    p = jw.sites.add(
        SiteInput(
            "起点中文网", ["qidian.com", "阅文.中国"], "literature", "provincial", province="上海"
        )
    )
    assert "xn--" in p.domains[1]
    assert jw.sites.get("s2").province == "上海"
    sites, total = jw.sites.list(tier="provincial")
    assert total == 1 and sites[0].name == "起点中文网"
    assert jw.sites.list(category="video")[1] == 1
    with pytest.raises(NotFound):
        jw.sites.get("S000009")


@pytest.mark.parametrize(
    ("site", "message"),
    [
        (SiteInput("X", ["x.com"], "cinema", "national"), "category"),
        (SiteInput("X", ["x.com"], "video", "city"), "tier"),
        (SiteInput("X", ["x.com"], "video", "provincial"), "province"),
        (SiteInput("X", ["x.com"], "video", "national", province="北京"), "province"),
        (SiteInput("X", ["not a domain"], "video", "national"), "domain"),
        (SiteInput("X", [], "video", "national"), "domain"),
    ],
)
def test_invalid_sites(jw: Jianwang, site: SiteInput, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        jw.sites.add(site)


def test_duplicates(jw: Jianwang) -> None:
    jw.sites.add(SiteInput("A", ["a.com"], "video", "national"))
    with pytest.raises(Duplicate, match="name"):
        jw.sites.add(SiteInput("A", ["b.com"], "video", "national"))
    with pytest.raises(Duplicate, match="S000001"):
        jw.sites.add(SiteInput("B", ["www.a.com"], "video", "national"))


def test_import_is_resumable(jw: Jianwang, tmp_path: Path) -> None:
    f = tmp_path / "sites.csv"
    f.write_text(
        "name,domains,category,tier,province,contact,notice_channel\n"
        "Youku,youku.com;tudou.com,video,national,,,\n"
        "QQ Music,y.qq.com,music,national,,,\n"
        "Bad,bad domain,video,national,,,\n"
        "Local Novel,novel.example.cn,literature,provincial,浙江,,\n",
        encoding="utf-8",
    )
    r = jw.sites.import_csv(f)
    assert len(r.added) == 3 and [n for n, _ in r.failed] == [4]
    r2 = jw.sites.import_csv(f)
    assert r2.added == [] and len(r2.skipped) == 3
