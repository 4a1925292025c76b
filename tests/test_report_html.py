"""`snakemake --report` after a demo run (tests/minidemo.py: the mini config dressed as the demo): figures and tables
are registered with their captions (workflow/report/*.rst), the summary and the main tables as HTML pages the report
shows inline, and the HTML opens in headless Chromium (tests/browser.py) and shows every figure, each with its
caption, and every HTML page, without a console error or an uncaught exception. Screenshots of one figure view and
of the summary are kept beside the report (report-figure.png, report-summary.png)."""
from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path

import pytest

import browser
import minidemo
import slurmlab

pytestmark = [pytest.mark.slow, pytest.mark.browser]
REPORT_DIR = Path(__file__).resolve().parents[1] / "workflow/report"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    project = minidemo.mini_demo(tmp_path_factory)
    rc, out = minidemo.run(project, "--report", "report.html", "--configfile", "config/demo.yaml", timeout=600)
    assert rc == 0, out[-3000:]
    assert "Report created" in out, out[-3000:]
    return project / "report.html"


def _embedded(html: str, name: str):
    m = re.search(rf"var {name} = (\{{.*?\}});\n", html, re.S)
    assert m, f"no {name} in the report"
    return json.loads(m.group(1))


def test_figures_and_tables_are_registered_with_captions(report):
    results = _embedded(report.read_text(), "results")
    figures = {p for p, r in results.items() if r["mime_type"] == "image/png"}
    tables = {p for p, r in results.items() if r["mime_type"] == "text/csv"}
    assert {"results/figures/morphology_vs_delta.png", "results/figures/coefficients_forest.png",
            "results/figures/layer_delta_heatmap.png"} <= figures
    assert {"results/tables/target_scores.csv", "results/tables/tatoeba.csv", "results/regression/pooled.csv"} <= tables
    pages = {p: r for p, r in results.items() if r["mime_type"] == "text/html"}
    assert set(pages) == {"results/summary.html", "results/tables/scores.html", "results/tables/retrieval.html",
                          "results/tables/regression.html"}
    placed = {p: (c, sub) for c, subs in _embedded(report.read_text(), "categories").items() for sub, ps in subs.items() for p in ps}
    assert placed["results/summary.html"][0] == "Summary"
    assert {t: placed[f"results/tables/{t}.html"] for t in ("scores", "retrieval", "regression")} == {
        "scores": ("Tables", "Scores"), "retrieval": ("Tables", "Retrieval"), "regression": ("Tables", "Regression")}
    for path, r in results.items():
        assert r["caption"], f"{path}: no caption"
        assert len(re.sub(r"<[^>]+>", "", r["caption"]).split()) >= 8, f"{path}: no caption"
    categories = _embedded(report.read_text(), "categories")
    assert set(categories) == {"Figures", "Tables", "Summary"}
    used = {m.group(1) for p in REPORT_DIR.parent.glob("rules/*.smk")
            for m in re.finditer(r'caption="\.\./report/([\w.]+)"', p.read_text())}
    assert used <= {p.name for p in REPORT_DIR.glob("*.rst")}


def test_report_renders_every_figure_in_headless_chromium(report):
    if not browser.chromium():
        slurmlab.skip_or_fail("chromium is not installed (Debian package `chromium`: sh .ci/system-packages.sh)")
    results = _embedded(report.read_text(), "results")
    figures = sorted(p for p, r in results.items() if r["mime_type"].startswith("image/"))
    assert figures
    with browser.Browser() as b:
        errors = b.open(report.resolve().as_uri(), settle_s=2)
        assert b.evaluate("typeof app") == "object", "the report's app did not start"
        b.evaluate("app.showCategory('Figures'); 1")
        time.sleep(0.5)
        listed = b.evaluate("document.body.innerText")
        assert all(f in listed for f in figures), listed[:2000]
        for f in figures:  # what a figure's view button does (result_view_button.js), plus its info panel
            b.evaluate(f"app.setView({{content: 'img', navbarMode: 'resultinfo', resultPath: {json.dumps(f)}, "
                       f"contentPath: results[{json.dumps(f)}].data_uri}}); 1")
            shown = b.evaluate("new Promise(done => setTimeout(() => { const i = [...document.images].find(i => i.src === "
                               f"results[{json.dumps(f)}].data_uri); done(i && i.complete ? [i.naturalWidth, i.naturalHeight]"
                               " : null) }, 400))")
            assert shown, (f, shown)
            assert shown[0] > 100, (f, shown)
            assert shown[1] > 100, (f, shown)
            caption = html.unescape(re.sub(r"<[^>]+>", "", results[f]["caption"])).split()[:6]
            text = " ".join(b.evaluate("document.body.innerText").split())
            assert " ".join(caption) in text, (f, caption)
            if f.endswith("morphology_vs_delta.png"):
                b.screenshot(report.parent / "report-figure.png")
            errors += b.drain_errors(0.2)
    assert errors == [], errors
    shot = (report.parent / "report-figure.png").read_bytes()
    assert shot.startswith(b"\x89PNG")
    assert len(shot) > 20_000


def test_report_shows_the_summary_and_the_tables_inline(report):
    """The registered HTML pages open in the report's frame (what their view button does), the summary's text and
    tables inside them; the page is a data URI, so what it shows is checked on the page itself."""
    import base64

    if not browser.chromium():
        slurmlab.skip_or_fail("chromium is not installed (Debian package `chromium`: sh .ci/system-packages.sh)")
    results = _embedded(report.read_text(), "results")
    pages = sorted(p for p, r in results.items() if r["mime_type"] == "text/html")
    summary = base64.b64decode(results["results/summary.html"]["data_uri"].split(",", 1)[1]).decode()
    assert "<table>" in summary
    assert "The regression" in summary  # the opening paragraph's controlled estimate (or why there is none)
    assert 'src="data:image/png;base64,' in summary  # the figures travel inside the page
    with browser.Browser() as b:
        errors = b.open(report.resolve().as_uri(), settle_s=2)
        for f in pages:
            b.evaluate(f"app.setView({{content: 'html', navbarMode: 'resultinfo', resultPath: {json.dumps(f)}, "
                       f"contentPath: results[{json.dumps(f)}].data_uri}}); 1")
            shown = b.evaluate("new Promise(done => setTimeout(() => { const i = document.querySelector('iframe'); "
                               f"done(i && i.src === results[{json.dumps(f)}].data_uri ? i.getBoundingClientRect().height : null) }}, 400))")
            assert shown, (f, shown)
            assert shown > 300, (f, shown)
            if f == "results/summary.html":
                time.sleep(0.5)
                b.screenshot(report.parent / "report-summary.png")
            errors += b.drain_errors(0.2)
    assert errors == [], errors
