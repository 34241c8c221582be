#!/usr/bin/env python3
"""A misbehaving NG responder (test_mediaproxy.sh): answers pings with pong,
and every other request, in turn, with garbage, a wrong cookie, a dictionary
larger than any reply may be, or nothing at all. Usage: mp_fake.py ADDR PORT
"""
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], int(sys.argv[2])))
huge = b"d" + b"".join(b"4:k%03di%de" % (i, i) for i in range(1000)) + b"e"
n = 0
while True:
    data, peer = sock.recvfrom(70000)
    cookie, _, body = data.partition(b" ")
    if b"4:ping" in body:
        sock.sendto(cookie + b" d6:result4:ponge", peer)
        continue
    mode = n % 4
    n += 1
    if mode == 0:
        sock.sendto(cookie + b" d6:result2:o", peer)
    elif mode == 1:
        sock.sendto(b"not-" + cookie + b" d6:result2:ok3:sdp3:v=0e", peer)
    elif mode == 2:
        sock.sendto(cookie + b" " + huge, peer)
    # mode 3: silence
