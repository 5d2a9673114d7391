"""Calibration's pure part: bands, checks, the document, reuse, and the report header.

Determinism contract: no sockets, no clock; the measuring part is covered by
tests/e2e/test_calibrate_e2e.py.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gauntlet.instrument import calibrate
from gauntlet.instrument.calibrate import Point, band_ms, delay_point, excerpt, fits, hold_point
from gauntlet.metrics import LatencySummary, Metrics


@pytest.mark.parametrize(
    ("nominal", "band"),
    [
        (0, 2.0),
        (20, 2.0),
        (40, 2.0),
        (41, 2.05),
        (100, 5.0),
        (200, 10.0),
        (500, 25.0),
    ],
)
def test_band_is_the_larger_of_2_ms_and_5_percent(nominal, band):
    assert band_ms(nominal) == pytest.approx(band)


def metrics(p50: float | None, delivered: int = 30) -> Metrics:
    return Metrics(
        30, delivered, 30 - delivered, 0, 0, LatencySummary(p50, p50, p50, p50), None, 0, 1, 0, ()
    )


@pytest.mark.parametrize(
    ("measured", "passed"),
    [
        (101.0, True),
        (104.9, True),
        (96.1, True),
        (106.2, False),
        (95.9, False),
        (None, False),
    ],
)
def test_a_delay_point_passes_within_its_band_of_d_plus_the_baseline(measured, passed):
    point = delay_point(100, metrics(measured), baseline_p50_ms=1.0, wanted=30)
    assert point.expected_ms == 101.0 and point.band_ms == 5.0
    assert point.passed is passed


def test_a_delay_point_with_lost_events_fails_even_inside_the_band():
    assert not delay_point(20, metrics(21.0, delivered=29), 1.0, wanted=30).passed


def test_a_hold_point_compares_paired_differences_with_t():
    held = [201.0, 203.0, 260.0, 202.0, 201.5]  # one stalled sample: the median ignores it
    base = [1.0, 2.0, 1.0, 1.5, 1.0]
    point = hold_point(200, held, base, wanted=5)
    assert point.measured_ms == pytest.approx(200.5) and point.passed
    assert not hold_point(200, [215.0] * 5, [1.0] * 5, wanted=5).passed  # 14 ms > 10 ms band
    assert not hold_point(200, held[:3], base[:3], wanted=5).passed  # samples missing


def document(*points: Point) -> calibrate.CalibrationDocument:
    return calibrate.build(
        list(points),
        {"hop_p50_ms": 1.0, "direct_p50_ms": 0.3},
        duration_s=9.0,
        created=dt.datetime(2026, 11, 25, tzinfo=dt.UTC),
    )


def test_the_document_passes_only_if_every_point_does_and_keeps_the_worst_error():
    good = delay_point(20, metrics(21.5), 1.0, 30)
    bad = delay_point(100, metrics(110.0), 1.0, 30)
    ok = document(good)
    assert ok.passed and ok.max_abs_error_ms == 0.5
    assert ok.to_json()["points"][0]["pass"] is True  # the name other tools read
    worse = document(good, bad)
    assert not worse.passed and worse.max_abs_error_ms == 9.0
    assert not document().passed
    table = calibrate.render_table(worse)
    assert "OUT OF BAND" in table and "BANDS NOT MET" in table


def test_a_saved_calibration_fits_only_this_machine_mitmproxy_and_a_recent_date():
    doc = document(delay_point(20, metrics(21.0), 1.0, 30))
    created = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    assert fits(doc, now=created + dt.timedelta(days=1))
    assert not fits(doc, now=created + dt.timedelta(days=calibrate.MAX_AGE_DAYS + 1))
    other = doc.machine.model_copy(update={"cpu_count": 999})
    assert not fits(doc.model_copy(update={"machine": other}), now=created)
    assert not fits(doc.model_copy(update={"dependencies": {"mitmproxy": "0.1"}}), now=created)
    assert not fits(doc.model_copy(update={"created_utc": "yesterday"}), now=created)


def test_write_then_load_latest_round_trips(tmp_path):
    doc = document(delay_point(20, metrics(21.0), 1.0, 30))
    path = calibrate.write(doc, tmp_path)
    assert path.parent == tmp_path / "calibration" and path.name == f"{doc.id}.json"
    assert (tmp_path / "calibration" / "latest.json").readlink().name == path.name
    assert calibrate.load_latest(tmp_path) == doc
    assert calibrate.load_latest(tmp_path / "nowhere") is None


def test_a_copied_latest_json_of_an_older_gauntlet_still_reads_and_is_replaced(tmp_path):
    import shutil

    doc = document(delay_point(20, metrics(21.0), 1.0, 30))
    folder = tmp_path / "calibration"
    folder.mkdir()
    (folder / f"{doc.id}.json").write_text(json.dumps(doc.to_json()))
    shutil.copyfile(folder / f"{doc.id}.json", folder / "latest.json")  # the old convention
    assert calibrate.load_latest(tmp_path) == doc
    newer = document(delay_point(100, metrics(101.0), 1.0, 30))
    calibrate.write(newer, tmp_path)
    assert (folder / "latest.json").is_symlink() and calibrate.load_latest(tmp_path) == newer


def test_a_saved_calibration_of_another_schema_is_named_and_measured_anew(tmp_path):
    from gauntlet.documents import DocumentError

    folder = tmp_path / "calibration"
    folder.mkdir()
    tree = document(delay_point(20, metrics(21.0), 1.0, 30)).to_json()
    (folder / "latest.json").write_text(json.dumps({**tree, "schema_version": 9}))
    with pytest.raises(
        DocumentError,
        match=r"latest.json: schema_version 9, this gauntlet "
        r"reads 1: a calibration document of another",
    ):
        calibrate.load_latest(tmp_path)
    said: list = []
    embedded = calibrate.for_run(tmp_path, may_measure=False, progress=said.append)
    assert embedded["status"] == "not calibrated" and "schema_version 9" in said[0].text


def test_a_run_embeds_a_fitting_saved_calibration_without_measuring(tmp_path):
    doc = document(delay_point(20, metrics(21.0), 1.0, 30)).model_copy(
        update={"created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    )
    calibrate.write(doc, tmp_path)
    embedded = calibrate.for_run(tmp_path, may_measure=False, progress=print)
    assert embedded["status"] == "calibrated" and embedded["id"] == doc.id
    missing = calibrate.for_run(tmp_path / "empty", may_measure=False, progress=print)
    assert missing["status"] == "not calibrated" and "gauntlet calibrate" in missing["reason"]


RUN = {
    "run_id": "r1",
    "matrix": "smoke",
    "time_scale": 30,
    "interrupted": False,
    "cells": [
        {
            "id": "sse-direct",
            "transport": "sse",
            "intermediary": "direct",
            "verdict": "PASS",
            "expected_verdict": "PASS",
            "reason": "ok",
            "metrics": None,
            "samples": [],
        }
    ],
}


@pytest.mark.parametrize(
    ("measured", "state", "says"),
    [
        (21.0, "calibrated", "all bands met, max |error| 0.0 ms"),
        (30.0, "out-of-band", "BANDS NOT MET (0/1 met)"),
        (None, "uncalibrated", "Instrument not calibrated"),
    ],
)
def test_every_report_shows_the_calibration_header_from_the_results_document(
    tmp_path, measured, state, says
):
    from gauntlet.report import write_report

    if measured is None:
        cal = excerpt(None)
    else:
        cal = excerpt(document(delay_point(20, metrics(measured), 1.0, 30)), "x/latest.json")
    doc = {**RUN, "calibration": cal}
    write_report(doc, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert f'<div class="calibration {state}" id="calibration">' in page
    assert says in page
    summary = (tmp_path / "summary.md").read_text()
    assert says in summary
    if measured is not None:
        assert "| delay 20 ms | 21.0 |" in summary and "delay 20 ms</td>" in page


def test_an_old_results_document_without_calibration_still_renders(tmp_path):
    from gauntlet.report import write_report

    write_report(RUN, tmp_path)
    assert "Instrument not calibrated" in (tmp_path / "report.html").read_text()
