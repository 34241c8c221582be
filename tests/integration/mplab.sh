# shellcheck shell=bash
# rtpengine (Debian's rtpengine-daemon) as a remote media proxy in a test's
# namespace, and what it says about its calls: for test_mediaproxy.sh and
# test_mediaproxy_restart.sh. Source after lib.sh (and lab.sh for mp_ns).

# mp_ns N SP_ADDR MP_ADDR: namespace mpN linked to lab.sh's ns sp
mp_ns() {
	local ns
	sp_netns "mp$1" >/dev/null || return 1
	ns=$SP_TAG-mp$1
	ip link add eth0 netns "$ns" type veth peer name "mp$1" netns "$SP" &&
		ip -n "$SP" addr add "$2/28" dev "mp$1" && ip -n "$SP" link set "mp$1" up &&
		ip -n "$ns" addr add "$3/28" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$ns" route add default via "$2"
}

# rtpe_run NS ADDR NAME: rtpengine in NS, userspace forwarding only (no
# kernel module), NG on ADDR:2223, its CLI on ADDR:9900, log in
# $SP_TMP/NAME.log; sets RTPE_LAST_PID
rtpe_run() {
	ip netns exec "$1" rtpengine --foreground --log-stderr --config-file=none \
		--table=-1 --interface="$2" --listen-ng="$2:2223" --listen-cli="$2:9900" \
		--port-min=30000 --port-max=30199 --delete-delay=0 \
		--pidfile="$SP_TMP/$3.pid" >"$SP_TMP/$3.log" 2>&1 &
	RTPE_LAST_PID=$!
	SP_PIDS+=("$!")
}

# rtpe_pings NS ADDR: does rtpengine answer an NG ping?
rtpe_pings() {
	ip netns exec "$1" python3 -c "import socket;s=socket.socket(2,2);s.settimeout(0.5);s.sendto(b'p d7:command4:pinge',('$2',2223));s.recv(99)"
}

# rtpe_ctl NS ADDR ARGS...: rtpengine-ctl against that rtpengine's CLI
rtpe_ctl() {
	local ns=$1 addr=$2; shift 2
	ip netns exec "$ns" rtpengine-ctl -ip "$addr" -port 9900 "$@"
}

# rtpe_sessions NS ADDR: the calls it holds now (rtpengine-ctl list numsessions)
rtpe_sessions() {
	rtpe_ctl "$1" "$2" list numsessions | sed -nE 's/^Current sessions total: *([0-9]+).*/\1/p'
}

# rtpe_packets NS ADDR CALL-ID...: the packets rtpengine counted on every
# stream of these calls (its NG query); a call it does not know counts 0
rtpe_packets() {
	ip netns exec "$1" python3 - "$2" "${@:3}" <<'PY'
import re, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
def ng(body):
    s.sendto(b"t " + body, (sys.argv[1], 2223))
    return s.recv(65535).partition(b" ")[2]
total = 0
for call_id in sys.argv[2:]:
    call_id = call_id.encode()
    q = ng(b"d7:command5:query7:call-id%d:%se" % (len(call_id), call_id))
    total += sum(int(n) for n in re.findall(rb"7:packetsi(\d+)e", q))
print(total)
PY
}

# rtpe_knows NS ADDR CALL-ID: does rtpengine hold that call (NG query ok)?
rtpe_knows() {
	ip netns exec "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
c = sys.argv[2].encode()
s.sendto(b"k d7:command5:query7:call-id%d:%se" % (len(c), c), (sys.argv[1], 2223))
sys.exit(0 if b"6:result2:ok" in s.recv(65535) else 1)
PY
}
