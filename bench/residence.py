#!/usr/bin/env python3
"""bench/count --tool latency: how long each SIP message stays in the
proxy's namespace, from captures of its two links (classic pcap, Ethernet,
IPv4 or IPv6 UDP).

usage: residence.py TERMINAL_SIDE.pcap SERVER_SIDE.pcap TERMINAL [US_CSV]

TERMINAL: the terminal's address as inet_ntop writes it (10.1.0.10,
2001:db8:1::10): a datagram from it, captured on the terminal-side link,
came in; any other went out. On the server-side link
a datagram from the server went in, one to it went out. A message is
known on both links by its Call-ID, its CSeq and its first line's method
or status code (the proxy rewrites Via, Contact and addresses, not
these); a retransmission is not counted again.

Both captures take their times from the kernel's one clock as the frame
crosses the link, so out - in is what the namespace added: the kernel's
path (netfilter, TPROXY, the socket's queue), the proxy's wait for a CPU
and its own work, and the send. That is the proxy's share of the caller's
INVITE->200 time, without the direct path's own noise, which the "added
p99" of bench/run carries (the direct path's p99 moves by a millisecond
between two runs on this machine).

Prints percentiles per kind of message and for the INVITE and its 200
together (the proxy's share of one INVITE->200 time); US_CSV gets every
message's residence in microseconds.
"""
import re
import socket
import sys

from rtt import packets

CALL_ID = re.compile(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)", re.I | re.M)
CSEQ = re.compile(rb"^CSeq[ \t]*:[ \t]*(\d+)[ \t]+(\S+)", re.I | re.M)


def datagrams(path):
    """(time, source address as text, UDP payload) of every UDP frame."""
    for ts, frame in packets(path):
        if len(frame) >= 42 and frame[12:14] == b"\x08\x00" and frame[23] == 17:
            ihl = (frame[14] & 15) * 4
            yield ts, socket.inet_ntop(socket.AF_INET, frame[26:30]), frame[14 + ihl + 8:]
        elif len(frame) >= 62 and frame[12:14] == b"\x86\xdd" and frame[20] == 17:
            yield ts, socket.inet_ntop(socket.AF_INET6, frame[22:38]), frame[62:]


def message_key(payload):
    """Call-ID, CSeq number, CSeq method, first-line token; None: not SIP."""
    cid = CALL_ID.search(payload)
    cseq = CSEQ.search(payload)
    if not cid or not cseq:
        return None
    first = payload.split(b" ", 2)
    token = first[1] if payload.startswith(b"SIP/2.0 ") and len(first) > 1 else first[0]
    return cid.group(1), cseq.group(1), cseq.group(2), token


def kind(key):
    """A message's kind as the report names it: INVITE, 200/INVITE, ..."""
    _, _, method, token = key
    name = token.decode(errors="replace")
    return name if name == method.decode(errors="replace") else "%s/%s" % (name, method.decode(errors="replace"))


def first_seen(path, inbound):
    """{key: time} of the messages that went one way across one link."""
    seen = {}
    for ts, src, payload in datagrams(path):
        key = message_key(payload)
        if key is not None and inbound(src) and key not in seen:
            seen[key] = ts
    return seen


def percentile(sorted_values, q):
    """The nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    i = max(0, min(len(sorted_values) - 1, int(round(q / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    term_pcap, srv_pcap, terminal = sys.argv[1], sys.argv[2], sys.argv[3]
    from_terminal = lambda src: src == terminal
    # terminal side: in = from a terminal; server side: in = not from the
    # proxy, i.e. from a server (the proxy's address there is the source
    # of what goes out, the server's of what comes in)
    t_in = first_seen(term_pcap, from_terminal)
    t_out = first_seen(term_pcap, lambda src: not from_terminal(src))
    s_all = list(datagrams(srv_pcap))
    # the proxy's own address on the server side: the source of the first
    # request it relayed there (the INVITE it forwarded)
    proxy_addr = next((src for _, src, p in s_all if p.startswith(b"INVITE ")), None)
    s_in, s_out = {}, {}
    for ts, src, payload in s_all:
        key = message_key(payload)
        if key is None:
            continue
        side = s_out if src == proxy_addr else s_in
        side.setdefault(key, ts)
    by_kind, invite_pair, rows = {}, {}, []
    own = 0
    for ins, outs in ((t_in, s_out), (s_in, t_out)):
        for key, t0 in ins.items():
            t1 = outs.get(key)
            if t1 is None:
                continue
            us = (t1 - t0) * 1e6
            if us < 0:
                # out before in: the proxy's own (a stateful proxy's 100
                # Trying, the server's absorbed)
                own += 1
                continue
            by_kind.setdefault(kind(key), []).append(us)
            rows.append("%s;%s;%.1f" % (key[0].decode(errors="replace"), kind(key), us))
            if kind(key) in ("INVITE", "200/INVITE"):
                invite_pair.setdefault(key[0], []).append(us)
    lost = sum(1 for k in t_in if k not in s_out) + sum(1 for k in s_in if k not in t_out) + own
    print("%-16s %7s %8s %8s %8s %8s %8s  (microseconds)" % ("message", "count", "p50", "p90", "p99", "p99.9", "max"))
    every = sorted(v for vs in by_kind.values() for v in vs)
    pairs = sorted(sum(v) for v in invite_pair.values() if len(v) == 2)
    for name, values in sorted(by_kind.items()) + [("every message", every), ("INVITE + 200", pairs)]:
        values = sorted(values)
        print("%-16s %7d %8.0f %8.0f %8.0f %8.0f %8.0f" % (
            name, len(values), percentile(values, 50), percentile(values, 90),
            percentile(values, 99), percentile(values, 99.9), values[-1] if values else float("nan")))
    print("messages in without their copy out: %d (of them answered by the proxy itself first: %d)" % (lost, own))
    if len(sys.argv) > 4:
        with open(sys.argv[4], "w") as f:
            f.write("call_id;message;residence_us\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
