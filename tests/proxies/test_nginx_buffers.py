"""proxies/nginx_defaults.NginxBuffers: the first buffer is what the headers left of a page."""

from __future__ import annotations

from gauntlet.proxies.nginx_defaults import NginxBuffers


def test_headers_that_fill_the_page_leave_a_one_byte_first_buffer_then_whole_pages():
    buffers = NginxBuffers(0, 8)  # headers took the whole page (or more)
    assert buffers(b"abcdefghij") == [b"a", b"bcdefghi"]
    assert buffers(b"") == [b"j"]


def test_the_first_buffer_is_what_the_headers_left_then_pages_and_the_rest_at_the_end():
    buffers = NginxBuffers(3, 8)
    assert buffers(b"ab") == []
    assert buffers(b"cdefghijklm") == [b"abc", b"defghijk"]
    assert buffers(b"") == [b"lm"]
