#!/usr/bin/env python3
"""One end of a media stream (test_media_home.sh): RTP from ADDR:PORT to
DST:DPORT every 20 ms and RTCP from ADDR:PORT+1 to DST:DPORT+1 every 100 ms,
for SECONDS, counting what arrives on each socket. Every 100 ms it writes
"RTP-SENT RTP-RECEIVED RTCP-SENT RTCP-RECEIVED" to COUNT-FILE (replaced
atomically). Usage: rtp_peer.py ADDR PORT DST DPORT COUNT-FILE SECONDS
"""
import os
import socket
import sys
import time

addr, port, dst, dport, out, secs = sys.argv[1:7]
port, dport = int(port), int(dport)
socks = []
for p in (port, port + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, p))
    s.setblocking(False)
    socks.append(s)
period = (0.02, 0.1)
sent, recv = [0, 0], [0, 0]
start = time.time()
nxt = [start, start]
end = start + float(secs)
written = start
while time.time() < end:
    now = time.time()
    for i, s in enumerate(socks):
        if now >= nxt[i]:
            # RTP version 2, PT 8; RTCP version 2, PT 200 (a sender report)
            pkt = bytes([0x80, 8]) + bytes(170) if i == 0 else bytes([0x80, 200, 0, 6]) + bytes(24)
            try:
                s.sendto(pkt, (dst, dport + i))
                sent[i] += 1
            except OSError:
                pass
            nxt[i] += period[i]
        try:
            while True:
                s.recv(2048)
                recv[i] += 1
        except (BlockingIOError, ConnectionRefusedError):
            pass
    if now >= written:
        with open(out + ".tmp", "w") as f:
            f.write("%d %d %d %d\n" % (sent[0], recv[0], sent[1], recv[1]))
        os.replace(out + ".tmp", out)
        written = now + 0.1
    time.sleep(0.005)
