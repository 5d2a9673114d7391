"""proxies/_framing.py: which bytes of a raw HTTP/1.x response stream are inside a chunked
body (what chunked_cork holds), for whole writes and for the same bytes split anywhere."""

from __future__ import annotations

import pytest

from gauntlet.proxies._framing import ResponseFramer

HELD, PASSED, ENDS = "held", "passed", "ends"


def kinds(stream: bytes, step: int | None = None) -> list[tuple[bytes, str]]:
    """Feed `stream` whole (or `step` bytes at a time); merge neighbouring pieces of one kind."""
    framer = ResponseFramer()
    if step is None:
        parts = [stream]
    else:
        parts = [stream[i : i + step] for i in range(0, len(stream), step)]
    out: list[tuple[bytes, str]] = []
    for part in parts:
        for piece, inside, ends in framer.feed(part):
            kind = ENDS if ends else HELD if inside else PASSED
            if out and out[-1][1] == kind and kind != ENDS:
                out[-1] = (out[-1][0] + piece, kind)
            else:
                out.append((piece, kind))
    return out


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked(*chunks: bytes) -> bytes:
    return CHUNKED + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


@pytest.mark.parametrize("step", [None, 1, 2, 7])
def test_a_chunked_body_is_held_and_its_last_chunk_ends_it_however_the_bytes_are_split(step):
    body = b"a" * 10 + b"\r\n" + b"b" * 300
    stream = chunked(b"hello", body)
    assert kinds(stream, step) == [
        (CHUNKED, PASSED),
        (b"5\r\nhello\r\n" + b"%x\r\n%s\r\n" % (len(body), body) + b"0\r\n", HELD),
        (b"\r\n", ENDS),
    ]


def test_after_a_chunked_body_the_next_response_is_framed_again():
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
    stream = chunked(b"x") + second + chunked(b"y")
    assert kinds(stream, 1) == [
        (CHUNKED, PASSED),
        (b"1\r\nx\r\n0\r\n", HELD),
        (b"\r\n", ENDS),
        (second + CHUNKED, PASSED),
        (b"1\r\ny\r\n0\r\n", HELD),
        (b"\r\n", ENDS),
    ]


def test_chunk_sizes_are_hex_with_extensions_and_trailers_are_inside_the_body():
    stream = CHUNKED + b"A;name=v;x=1\r\n" + b"z" * 10 + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    stream += chunked(b"next")
    out = kinds(stream, 3)
    assert out[1] == (b"A;name=v;x=1\r\n" + b"z" * 10 + b"\r\n0\r\nX-Trailer: 1\r\n", HELD)
    assert out[2] == (b"\r\n", ENDS)
    assert out[3] == (CHUNKED, PASSED) and out[4][1] == HELD  # framing kept its place


@pytest.mark.parametrize(
    "encoding", [b"chunked", b"Chunked", b"gzip, chunked"], ids=["lower", "capital", "after-gzip"]
)
def test_transfer_encoding_chunked_is_found_in_any_case_and_after_other_codings(encoding):
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: " + encoding + b"\r\n\r\n"
    assert kinds(head + b"1\r\nx\r\n0\r\n\r\n")[1:] == [(b"1\r\nx\r\n0\r\n", HELD), (b"\r\n", ENDS)]


@pytest.mark.parametrize(
    "status",
    [b"204 No Content", b"304 Not Modified", b"204", b"304"],
    ids=["204", "304", "204-bare", "304-bare"],
)
def test_a_bodiless_status_is_followed_by_the_next_response(status):
    stream = b"HTTP/1.1 " + status + b"\r\nDate: x\r\n\r\n" + chunked(b"q")
    assert kinds(stream, 4)[1:] == [(b"1\r\nq\r\n0\r\n", HELD), (b"\r\n", ENDS)]


def test_content_length_zero_and_interim_responses_are_followed_by_the_next_response():
    empty = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    assert kinds(interim + empty + chunked(b"q"))[1:] == [
        (b"1\r\nq\r\n0\r\n", HELD),
        (b"\r\n", ENDS),
    ]


def test_a_content_length_body_is_skipped_whole_even_when_it_looks_like_http():
    fake = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(fake)
    stream = head + fake + chunked(b"q")
    assert kinds(stream, 5) == [
        (head + fake + CHUNKED, PASSED),
        (b"1\r\nq\r\n0\r\n", HELD),
        (b"\r\n", ENDS),
    ]


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",  # a WebSocket now
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n",  # delimited by the close
    ],
    ids=["101", "close-delimited"],
)
def test_after_a_switch_or_a_close_delimited_head_nothing_is_framed(head):
    stream = head + chunked(b"q")
    assert kinds(stream, 6) == [(stream, PASSED)]


def test_bytes_that_are_not_http_pass_untouched():
    tls = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + chunked(b"q")
    assert kinds(tls, 2) == [(tls, PASSED)]
    assert kinds(b"HTT", 1) == []  # could still be HTTP: nothing is decided yet


def test_malformed_heads_and_chunk_sizes_never_stop_the_relay():
    """A status line without a code, or an empty chunk-size line, must not raise inside the
    hop (the bytes would stop): the first makes the stream opaque, the second ends the body."""
    no_code = b"HTTP/1.1\r\n\r\n" + chunked(b"q")
    assert kinds(no_code) == [(no_code, PASSED)]
    empty_size = CHUNKED + b"\r\n\r\n"
    assert kinds(empty_size, 1) == [(CHUNKED, PASSED), (b"\r\n", HELD), (b"\r\n", ENDS)]


@pytest.mark.parametrize("step", [None, 1, 5])
def test_sse_events_with_crlf_line_ends_stay_inside_the_body_until_its_last_chunk(step):
    """An SSE event ends with a blank line; written with CRLF (the spec allows it) that is
    \\r\\n\\r\\n inside a chunk, which must not end the body: only the zero chunk does."""
    first, second = b"data: 1\r\n\r\n", b"id: 2\r\ndata: 2\r\n\r\n"
    after = b"HTTP/1.1 204 No Content\r\n\r\n"
    stream = chunked(first, second) + after
    assert kinds(stream, step) == [
        (CHUNKED, PASSED),
        (b"b\r\n" + first + b"\r\n12\r\n" + second + b"\r\n0\r\n", HELD),
        (b"\r\n", ENDS),
        (after, PASSED),
    ]


def test_each_piece_says_whether_it_is_inside_the_body_and_the_closing_crlf_is():
    """The Piece contract chunked_cork and any other caller read: the last chunk's closing
    CRLF is part of the chunked body (RFC 9112 §7.1) and is the piece that ends it."""
    assert ResponseFramer().feed(chunked(b"hi")) == [
        (CHUNKED, False, False),
        (b"2\r\n", True, False),
        (b"hi\r\n", True, False),
        (b"0\r\n", True, False),
        (b"\r\n", True, True),
    ]
