#!/usr/bin/env python3
# Opens N idle TCP connections from SOURCE to DEST:PORT and holds them (one
# process, non-blocking connects in batches of 500, epoll), for the tests of
# many connections from one address. Prints "connected C" once every
# connect has finished, then "held H closed X" each time the count changes
# (a connection the peer closed, as a refused one is once accepted, counts
# as closed); holds them until SIGTERM (its exit closes them all).
# Usage: tcp_hold.py SOURCE DEST PORT N
import errno, os, resource, select, signal, socket, sys, time

src, dst, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1024, n + 1024))
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
ep = select.epoll()
socks, held = {}, set()
connected = failed = 0

def settle(timeout):
    """Handles events for up to timeout s; True if any came."""
    global connected, failed
    any_event = False
    for fd, ev in ep.poll(timeout, 4096):
        any_event = True
        s = socks[fd]
        if fd not in held:
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err or ev & (select.EPOLLERR | select.EPOLLHUP) and not ev & select.EPOLLOUT:
                failed += 1
                ep.unregister(fd); s.close(); del socks[fd]
                continue
            connected += 1
            held.add(fd)
            ep.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
        elif ev & (select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR):
            held.discard(fd)
            ep.unregister(fd); s.close(); del socks[fd]
    return any_event

for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((src, 0))
    try:
        s.connect((dst, port))
    except BlockingIOError:
        pass
    socks[s.fileno()] = s
    ep.register(s.fileno(), select.EPOLLOUT)
    if i % 500 == 499:
        while connected + failed < i + 1 - 100 and settle(1.0):
            pass
deadline = time.time() + 30
while connected + failed < n and time.time() < deadline:
    settle(1.0)
print("connected %d failed %d" % (connected, failed), flush=True)
last = None
while True:
    now = (len(held), connected - len(held))
    if now != last:
        print("held %d closed %d" % now, flush=True)
        last = now
    for fd, ev in ep.poll(0.5, 4096):
        held.discard(fd)
        ep.unregister(fd); socks[fd].close(); del socks[fd]
