#!/usr/bin/env python3
"""A raw SIP endpoint for the field tests (test_field_sip.sh): it sends
exactly the bytes a test writes, so it can play what SIPp cannot (a stray
response, Max-Forwards: 0, bare LF line ends, a Contact that changes), and
records every datagram it receives.

    field_ua.py DIR IP PORT [server]

binds udp IP:PORT and runs until killed:
  - every datagram received goes to DIR/in/NNNNN (and its source address
    to DIR/in/NNNNN.from);
  - every file the test drops in DIR/out/ named NAME@HOST:PORT is sent to
    HOST:PORT once and removed (write it elsewhere and rename it in, so it
    is never read half-written);
  - with "server", requests are answered like a minimal registrar and
    user agent: REGISTER gets 200 OK echoing the Contacts with their expiry
    (none when the request de-registers), INVITE gets 200 OK with a To tag
    and, when offered SDP, an SDP answer; every other request but ACK gets
    200 OK.
DIR/ready appears once the socket is bound.
"""
import os
import re
import select
import socket
import sys


def header_lines(msg):
    head = msg.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return [line.rstrip(b"\r") for line in head.split(b"\n")]


def header_values(lines, *names):
    out = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() in names:
            out.append(value.strip())
    return out


def answer(msg, port):
    lines = header_lines(msg)
    start = lines[0].split(b" ")
    if len(start) < 3 or start[0].startswith(b"SIP/") or start[0] == b"ACK":
        return None
    method = start[0]
    keep = []
    for line in lines[1:]:
        name = line.partition(b":")[0].strip().lower()
        if name in (b"via", b"v", b"from", b"f", b"call-id", b"i", b"cseq"):
            keep.append(line)
        elif name in (b"to", b"t"):
            keep.append(line if b";tag=" in line else line + b";tag=srv" + str(port).encode())
    body = b""
    if method == b"REGISTER":
        expires = header_values(lines, b"expires")
        default = int(expires[0]) if expires else 3600
        for contact in header_values(lines, b"contact", b"m"):
            if contact == b"*":
                continue
            m = re.search(rb";\s*expires\s*=\s*(\d+)", contact)
            exp = int(m.group(1)) if m else default
            if exp > 0:
                uri = re.sub(rb";\s*expires\s*=\s*\d+", b"", contact)
                keep.append(b"Contact: " + uri + b";expires=" + str(exp).encode())
    elif method == b"INVITE":
        keep.append(b"Contact: <sip:srv@" + str(SERVER_ADDR).encode() + b">")
        if b"application/sdp" in msg.lower():
            body = (b"v=0\r\no=srv 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
                    b"t=0 0\r\nm=audio 7078 RTP/AVP 8\r\n")
            keep.append(b"Content-Type: application/sdp")
    reply = b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep)
    reply += b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    return reply


SERVER_ADDR = ""


def main():
    global SERVER_ADDR
    top, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = len(sys.argv) > 4 and sys.argv[4] == "server"
    SERVER_ADDR = "%s:%d" % (ip, port)
    inbox, outbox = os.path.join(top, "in"), os.path.join(top, "out")
    os.makedirs(inbox, exist_ok=True)
    os.makedirs(outbox, exist_ok=True)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    open(os.path.join(top, "ready"), "w").close()
    n = 0
    while True:
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            data, src = s.recvfrom(65535)
            n += 1
            name = os.path.join(inbox, "%05d" % n)
            with open(name + ".from", "w") as f:
                f.write("%s:%d\n" % src)
            with open(name + ".tmp", "wb") as f:
                f.write(data)
            os.rename(name + ".tmp", name)
            if server:
                reply = answer(data, port)
                if reply:
                    s.sendto(reply, src)
        for entry in sorted(os.listdir(outbox)):
            path = os.path.join(outbox, entry)
            dest = entry.rsplit("@", 1)[-1]
            host, _, dport = dest.rpartition(":")
            with open(path, "rb") as f:
                data = f.read()
            os.unlink(path)
            s.sendto(data, (host, int(dport)))


if __name__ == "__main__":
    main()
