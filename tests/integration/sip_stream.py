"""What the tests' SIP-over-TCP/TLS peers (flow_terminal.py, tls_server.py)
share: their one line per event, and one SIP message off a stream."""


def out(line):
    print(line, flush=True)


def message(s, buf):
    """One whole SIP message from the stream socket s (buf: what was read
    past the last one), as text, and the bytes left after it."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode(errors="replace")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() in ("content-length", "l"):
                    length = int(value.strip())
            if len(buf) >= end + 4 + length:
                return buf[:end + 4 + length].decode(errors="replace"), buf[end + 4 + length:]
        data = s.recv(65536)
        if not data:
            raise EOFError("connection closed")
        buf += data
