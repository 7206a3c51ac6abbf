"""The day report's HTML: data can never end or bend its script element, or become
markup in its header."""

from __future__ import annotations

import json
import re

from market.report import render_report

DATA = {"day": "2026-12-02", "grid": "<b>cigre_mv</b>", "sessions": [], "delivery": {},
        "tokens": {}, "kpis": []}


def test_data_cannot_close_or_comment_out_the_script() -> None:
    hostile = "</script><!--<script>alert(1)</script>"
    page = render_report(DATA, {"note": hostile})
    assert page.count("</script>") == 2  # the data's and the scripts' own elements
    assert "<!--" not in page
    data = re.search(r"const REPORT = (.*?);</script>", page, re.S)
    assert data is not None
    assert json.loads(data.group(1))["summary"]["note"] == hostile


def test_the_header_shows_names_as_text() -> None:
    page = render_report(DATA)
    assert "<b>cigre_mv</b>" not in page
    assert "&lt;b&gt;cigre_mv&lt;/b&gt;" in page
