"""SSE parser conformance: web-platform-tests `eventsource/format-*` cases and properties.

Each WPT case is fed whole, byte by byte, and split at every position into two chunks: all
must give the same events, because proxies re-chunk bodies at arbitrary points.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gauntlet.sse import SSEEvent, SSEParser

LONG = "x" * 2049

# (name, stream bytes, expected [(type, data, last_event_id)], expected retry_ms)
WPT_CASES = [
    (
        "format-bom",
        "\ufeffdata: 1\n\n\ufeffdata: 2\n\ndata: 3\n\n".encode(),
        [("message", "1", ""), ("message", "3", "")],
        None,
    ),
    (
        "format-bom-2",
        "\ufeff\ufeffdata: 1\n\ndata: 2\n\ndata: 3\n\n".encode(),
        [("message", "2", ""), ("message", "3", "")],
        None,
    ),
    (
        "format-comments",
        f"data:1\r:\0\n:\r\ndata:2\n:{LONG}\rdata:3\n:data:fail\r:{LONG}\ndata:4\n\n".encode(),
        [("message", "1\n2\n3\n4", "")],
        None,
    ),
    (
        "format-data-before-final-empty-line",
        b"retry:1000\ndata:test1\n\nid:test\ndata:test2",
        [("message", "test1", "")],
        1000,
    ),
    (
        "format-field-data",
        b"data:\n\ndata\ndata\n\ndata:test\n\n",
        [("message", "", ""), ("message", "\n", ""), ("message", "test", "")],
        None,
    ),
    (
        "format-field-event",
        b"event:test\ndata:x\n\ndata:x\n\n",
        [("test", "x", ""), ("message", "x", "")],
        None,
    ),
    ("format-field-event-empty", b"event: \ndata:data\n\n", [("message", "data", "")], None),
    (
        "format-field-id",
        b"id: 1\ndata: x\n\nid: 2\ndata: y\n\ndata: z\n\n",
        [("message", "x", "1"), ("message", "y", "2"), ("message", "z", "2")],
        None,
    ),
    (
        "format-field-id-2",
        b"id:1\ndata:x\n\nid\ndata:y\n\n",
        [("message", "x", "1"), ("message", "y", "")],
        None,
    ),
    (
        "format-field-id-null",
        b"id:1\ndata:x\n\nid: a\0bc\ndata:y\n\n",
        [("message", "x", "1"), ("message", "y", "1")],
        None,
    ),
    (
        "format-field-parsing",
        b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n"
        b" data:32\ndata:4\n\n",
        [("message", "\0\n 2\n1\n3\n\n4", "")],
        None,
    ),
    ("format-field-retry", b"retry:03000\ndata:x\n\n", [("message", "x", "")], 3000),
    (
        "format-field-retry-bogus",
        b"retry:3000\nretry:1000x\ndata:x\n\n",
        [("message", "x", "")],
        3000,
    ),
    ("format-field-retry-empty", b"retry\ndata:test\n\n", [("message", "test", "")], None),
    (
        "format-field-unknown",
        b"data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n",
        [("message", "test\n\ntest", "")],
        None,
    ),
    (
        "format-leading-space",
        b"data:\ttest\rdata: \ndata:test\n\n",
        [("message", "\ttest\n\ntest", "")],
        None,
    ),
    (
        "format-newlines",
        b"data:test\r\ndata\ndata:test\r\n\r",
        [("message", "test\n\ntest", "")],
        None,
    ),
    ("format-null-character", b"data:\0\n\n\n\n", [("message", "\0", "")], None),
    ("format-utf-8", "data:ok\u2026\n\n".encode(), [("message", "ok\u2026", "")], None),
]


def events_of(chunks: list[bytes], last_event_id: str = "") -> tuple[list[tuple], SSEParser]:
    parser = SSEParser(last_event_id)
    out = [(e.type, e.data, e.last_event_id) for c in chunks for e in parser.feed(c)]
    return out, parser


@pytest.mark.parametrize(
    ("name", "stream", "expected", "retry"), WPT_CASES, ids=[c[0] for c in WPT_CASES]
)
def test_wpt_format_case_whole_bytewise_and_every_split(name, stream, expected, retry):
    whole, parser = events_of([stream])
    assert whole == expected
    assert parser.retry_ms == retry
    assert events_of([stream[i : i + 1] for i in range(len(stream))])[0] == expected
    for cut in range(len(stream) + 1):
        assert events_of([stream[:cut], stream[cut:]])[0] == expected, f"split at {cut}"


def test_crlf_split_across_chunks_is_one_line_ending():
    assert events_of([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"])[0] == [("message", "a\nb", "")]


def test_lone_cr_then_text_is_a_line_ending():
    assert events_of([b"data: a\r", b"\r"])[0] == [("message", "a", "")]


def test_last_event_id_persists_and_comes_from_the_previous_connection():
    events, parser = events_of([b"data: x\n\n"], last_event_id="41")
    assert events == [("message", "x", "41")]
    events, parser = events_of([b"id: 42\n\n", b"data: y\n\n"], last_event_id="41")
    assert events == [("message", "y", "42")] and parser.last_event_id == "42"


def test_bom_is_stripped_once_even_when_split():
    bom = "\ufeff".encode()
    assert events_of([bom[:1], bom[1:] + b"data: 1\n\n"])[0] == [("message", "1", "")]


def test_invalid_utf8_becomes_replacement_character():
    assert events_of([b"data: \xff\n\n"])[0] == [("message", "\ufffd", "")]


def test_non_sse_line_breaks_are_ordinary_characters():
    assert events_of(["data: a\u2028b\x0cc\n\n".encode()])[0] == [("message", "a\u2028b\x0cc", "")]


def test_empty_feed_is_a_no_op():
    parser = SSEParser()
    assert parser.feed(b"") == []
    assert parser.feed(b"data: 1\n\n") == [SSEEvent("message", "1", "")]


# A model of valid streams: events with optional type and id, data lines, comments, retry,
# each line ended by CR, LF or CRLF at random.
text = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=12
)
field_value = text.filter(lambda s: not s.startswith(" ") and "\0" not in s)
event_model = st.tuples(
    st.one_of(st.none(), field_value.filter(bool)),
    st.one_of(st.none(), field_value),
    st.lists(text, min_size=1, max_size=3),
    st.one_of(st.none(), text.map(lambda s: ":" + s)),
    st.one_of(st.none(), st.integers(0, 10**6)),
)


@given(st.lists(event_model, max_size=6), st.data())
def test_any_split_of_any_valid_stream_gives_the_modelled_events(model, data):
    eol = st.sampled_from(["\n", "\r", "\r\n"])
    lines, expected, last_id, retry = [], [], "", None
    for event_type, event_id, data_lines, comment, retry_value in model:
        if comment is not None:
            lines.append(comment)
        if retry_value is not None:
            lines.append(f"retry: {retry_value}")
            retry = retry_value
        if event_type is not None:
            lines.append(f"event: {event_type}")
        if event_id is not None:
            lines.append(f"id: {event_id}")
            last_id = event_id
        lines.extend(f"data: {d}" for d in data_lines)
        lines.append("")
        expected.append((event_type or "message", "\n".join(data_lines), last_id))
    parts, previous = [], ""
    for line in lines:
        # CR then an empty line ended by LF would be one CRLF, not two line endings.
        ending = "\r" if previous == "\r" and line == "" else data.draw(eol)
        parts.append(line + ending)
        previous = ending
    stream = "".join(parts).encode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    got, parser = events_of(chunks)
    assert got == expected
    assert parser.retry_ms == retry


def test_last_event_id_advances_only_when_the_event_is_dispatched():
    """Found by the resume state machine: resuming from a half-read event would lose it."""
    parser = SSEParser("4")
    assert parser.feed(b"id: 5\ndata: five") == []
    assert parser.last_event_id == "4"  # the connection could drop here: resume after 4
    assert parser.feed(b"\n\n") == [SSEEvent("message", "five", "5")]
    assert parser.last_event_id == "5"
    parser.feed(b"id: 6\n\n")  # a dispatch with no data still sets the string (spec step 1)
    assert parser.last_event_id == "6"
