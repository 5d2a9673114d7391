"""Where HTTP/1.x responses and their chunked bodies begin and end in a raw byte stream.

For connection-level hops that must know whether a byte is inside a chunked body (see
chunked_cork). Pure and incremental: bytes may be split anywhere. Anything that does not
start like an HTTP/1 response (TLS, a WebSocket after its 101) makes the rest of the
connection opaque. Source: RFC 9112 §6 (message body length) and §7.1 (chunked coding).
"""

from __future__ import annotations

Piece = tuple[bytes, bool, bool]  # (bytes, inside a chunked body, ends that body)


class ResponseFramer:
    def __init__(self) -> None:
        self.state = "head"  # head | length | chunk_size | chunk_data | trailer | opaque
        self.buf = b""  # an unfinished head or line
        self.remaining = 0  # bytes left of a Content-Length body or of a chunk (+ CRLF)

    def feed(self, data: bytes) -> list[Piece]:
        out: list[Piece] = []
        pos = 0
        while pos < len(data):
            if self.state == "opaque":
                out.append((data[pos:], False, False))
                break
            if self.state == "length":
                n = min(self.remaining, len(data) - pos)
                out.append((data[pos : pos + n], False, False))
                pos += n
                self.remaining -= n
                if not self.remaining:
                    self.state = "head"
                continue
            if self.state == "chunk_data":
                n = min(self.remaining, len(data) - pos)
                out.append((data[pos : pos + n], True, False))
                pos += n
                self.remaining -= n
                if not self.remaining:
                    self.state = "chunk_size"
                continue
            end = b"\r\n\r\n" if self.state == "head" else b"\r\n"
            self.buf += data[pos:]
            if self.state == "head" and not b"HTTP/".startswith(self.buf[:5]):
                self.state = "opaque"
                out.append((self.buf, False, False))
                self.buf = b""
                break
            if end not in self.buf:
                pos = len(data)
                break
            line, _, rest = self.buf.partition(end)
            used = len(line) + len(end)
            piece, self.buf = self.buf[:used], b""
            pos = len(data) - len(rest)
            out.append((piece, *self._after(line)))
        return [p for p in out if p[0]]

    def _after(self, line: bytes) -> tuple[bool, bool]:
        """Advance past a head or a line; (inside a chunked body, ends it)."""
        if self.state == "head":
            self._start(line)
            return False, False
        if self.state == "chunk_size":
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self.state = "trailer"
            else:
                self.state, self.remaining = "chunk_data", size + 2
            return True, False
        if line:  # trailer: one more field line
            return True, False
        self.state = "head"
        return True, True

    def _start(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1]) if len(lines[0].split()) > 1 else 0
        pairs = (line.partition(b":") for line in lines[1:])
        fields = {k.strip().lower(): v.strip() for k, _, v in pairs}
        if 100 <= status < 200:  # 101: the connection is a WebSocket now; others: interim
            self.state = "opaque" if status == 101 else "head"
        elif b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            self.state = "chunk_size"
        elif status in (204, 304):
            self.state = "head"
        elif b"content-length" in fields:
            self.remaining = int(fields[b"content-length"])
            self.state = "length" if self.remaining else "head"
        else:  # delimited by the close: nothing more to frame
            self.state = "opaque"
