# bench/rtpengine.sh: sourced by bench/rtp and bench/rtp-xfamily (not run):
# rtpengine (userspace, --table=-1) in its own namespace and calls set up on
# it over NG, the load's ports written to a file for bench/rtpblast.c.
# The sourcing script sets MPNS (rtpengine's namespace), MP4 (its NG
# address, port 2223), WORK (files), PIDS (processes its cleanup kills)
# and has die().

# rtpe_start --interface=ADDR ...: a fresh rtpengine in $MPNS (the one
# before stopped: this rtpengine (10.5) keeps discarding on a socket whose
# receive queue overflowed, for the rest of the call)
RTPE=""
rtpe_start() {
	if [ -n "$RTPE" ]; then
		kill -TERM "$RTPE" 2>/dev/null
		wait "$RTPE" 2>/dev/null
	fi
	ip netns exec "$MPNS" rtpengine --foreground --log-stderr --log-level=4 --config-file=none \
		--table=-1 "$@" --listen-ng=$MP4:2223 \
		--port-min=30000 --port-max=39999 --timeout=600 --pidfile="$WORK/rtpe.pid" \
		>>"$WORK/rtpe.log" 2>&1 &
	RTPE=$!
	PIDS+=("$!")
}
# rtpe_cpu: rtpengine's user+system CPU seconds so far (all its threads)
TCK=$(getconf CLK_TCK)
rtpe_cpu() { awk -v t="$TCK" '{ printf "%.3f\n", ($14 + $15) / t }' "/proc/$RTPE/stat"; }
# ng NAME N OFFER-FAMILY ANSWER-FAMILY CALLER-IP CALLEE-IP: N calls
# (Call-IDs NAME-k), each an offer from CALLER-IP:7000 and an answer from
# CALLEE-IP:7002 with the family of the side reading it (as sigproxyd sets
# up a call: `replace: origin, session-connection`); the ports the caller
# sends to go to $WORK/NAME.ports, one a line
ng() {
	ip netns exec "$MPNS" python3 - "$MP4" "$@" "$WORK/$1.ports" <<'PY'
import re, socket, sys
mp, name, n, fam_off, fam_ans, caller, callee, out = sys.argv[1:9]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
def enc(v):
    if isinstance(v, dict):
        return b"d" + b"".join(enc(k) + enc(v[k]) for k in sorted(v)) + b"e"
    if isinstance(v, list):
        return b"l" + b"".join(enc(x) for x in v) + b"e"
    if isinstance(v, str):
        v = v.encode()
    return b"%d:%s" % (len(v), v)
def sdp(ip, port):
    ipv = "IP6" if ":" in ip else "IP4"
    return (f"v=0\r\no=- 1 1 IN {ipv} {ip}\r\ns=-\r\nc=IN {ipv} {ip}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\n")
def ng(cookie, d):
    for _ in range(3):
        s.sendto(cookie.encode() + b" " + enc(d), (mp, 2223))
        try:
            r = s.recv(65535)
        except socket.timeout:
            continue
        m = re.search(rb"m=audio (\d+) ", r)
        if not m:
            sys.exit("rtpengine: " + r.decode("latin-1"))
        return m.group(1).decode()
    sys.exit("rtpengine does not answer")
rep = ["origin", "session-connection"]
ports = []
for k in range(int(n)):
    cid = f"{name}-{k}"
    ng(cid + "o", {"command": "offer", "call-id": cid, "from-tag": "a", "sdp": sdp(caller, 7000),
                   "replace": rep, "address family": fam_off})
    ports.append(ng(cid + "a", {"command": "answer", "call-id": cid, "from-tag": "a", "to-tag": "b",
                                "sdp": sdp(callee, 7002), "replace": rep, "address family": fam_ans}))
open(out, "w").write("\n".join(ports) + "\n")
PY
}
