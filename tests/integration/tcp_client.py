#!/usr/bin/env python3
# A telnet-style client for the CLI's TCP listener: stdin to the daemon, the
# daemon to stdout, ending when the daemon closes the connection (Debian's nc
# waits for the end of its own input first, so a test cannot see the close).
# Usage: tcp_client.py [SOURCE-ADDRESS [PORT]]   (default: any, 2650)
import os, select, socket, sys

port = int(sys.argv[2]) if len(sys.argv) > 2 else 2650
s = socket.socket()
if len(sys.argv) > 1:
    s.bind((sys.argv[1], 0))
s.connect(("127.0.0.1", port))
fds = [s, sys.stdin.fileno()]
while True:
    r, _, _ = select.select(fds, [], [])
    if s in r:
        data = s.recv(4096)
        if not data:
            break
        os.write(1, data)
    if sys.stdin.fileno() in r:
        data = os.read(sys.stdin.fileno(), 4096)
        if not data:
            fds.remove(sys.stdin.fileno())
        else:
            s.sendall(data)
