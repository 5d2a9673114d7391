"""The response headers projects ship to stop intermediaries buffering an event stream.

The fix LLM APIs, AI gateways and MCP SDKs ship for "the answer arrives in one lump" is
`X-Accel-Buffering: no` plus `Cache-Control: no-cache, no-transform`. Which hop honours
which is a property of the hop (proxies/), so the server offers four settings, a scenario
dimension, and sends them on every `text/event-stream` response:

- `none`: `Cache-Control: no-cache` only (what the reference server always sent);
- `x_accel`: plus `X-Accel-Buffering: no` (nginx turns `proxy_buffering` off for this
  response; ngx_http_proxy_module, "proxy_buffering");
- `no_transform`: `Cache-Control: no-cache, no-transform` (RFC 9111 5.2.2.6: an intermediary
  must not transform the content; some compressors skip such responses);
- `both`: the two together, as most projects ship them.
"""

from __future__ import annotations

OPT_OUTS = ("none", "x_accel", "no_transform", "both")

_CONTENT_TYPE = (b"content-type", b"text/event-stream; charset=utf-8")
_X_ACCEL = (b"x-accel-buffering", b"no")


def sse_headers(opt_out: str = "none") -> list[tuple[bytes, bytes]]:
    """The headers of an event-stream response under opt-out setting `opt_out` (pure)."""
    if opt_out not in OPT_OUTS:
        raise ValueError(f"unknown header opt-out {opt_out!r} (known: {', '.join(OPT_OUTS)})")
    no_transform = opt_out in ("no_transform", "both")
    cache = b"no-cache, no-transform" if no_transform else b"no-cache"
    headers = [_CONTENT_TYPE, (b"cache-control", cache)]
    if opt_out in ("x_accel", "both"):
        headers.append(_X_ACCEL)
    return headers
