# shellcheck shell=bash
# baresip (Debian's) as a real terminal in the lab, headless: each one in a
# namespace of its own, linked straight to ns sp (so its only address is
# the one its SIP and SDP name), a generated config and account, audio from
# a sine generator (ausine) into G.711, played into a bridge (aubridge) that
# nobody listens to, driven over its TCP control socket (ctrl_tcp, JSON in
# netstrings) and watched through its log. Source it after lib.sh and
# lab.sh, after lab_up.
#
#   bs-NAME (baresip)                 sp
#   eth0 10.5.N.10/24  ------------  bsN 10.5.N.1/24
#
# A proxy strategy for source 10.5.0.0/16 sends their SIP through sigproxyd.

BARESIP_NET=10.5.0.0/16
BARESIP_CTRL_PORT=4444
declare -A BARESIP_NS=() BARESIP_ADDR=() BARESIP_PID=()
# a CA file (PEM) the terminals started from now on trust for SIP over TLS
# (baresip's sip_cafile); none when empty
BARESIP_CAFILE=

# baresip_up NAME N: namespace bs-NAME with 10.5.N.10, its link to ns sp
# (bsN, 10.5.N.1) and a default route through the SP; sets BARESIP_NS[NAME]
# and BARESIP_ADDR[NAME]
baresip_up() {
	local name=$1 n=$2 ns
	sp_netns "bs-$name" >/dev/null || return 1
	ns=$SP_TAG-bs-$name
	ip link add eth0 netns "$ns" type veth peer name "bs$n" netns "$SP" || return 1
	ip -n "$ns" addr add "10.5.$n.10/24" dev eth0 &&
	ip -n "$ns" link set eth0 up &&
	ip -n "$ns" route add default via "10.5.$n.1" &&
	ip -n "$SP" addr add "10.5.$n.1/24" dev "bs$n" &&
	ip -n "$SP" link set "bs$n" up &&
	ip netns exec "$SP" sysctl -qw "net.ipv4.conf.bs$n.rp_filter=0" || return 1
	BARESIP_NS[$name]=$ns
	BARESIP_ADDR[$name]=10.5.$n.10
}

# baresip_use NAME NS ADDR: a baresip NAME in an existing namespace NS
# whose address is ADDR (a terminal behind lab_nat.sh's NAT, say)
baresip_use() {
	BARESIP_NS[$1]=$2
	BARESIP_ADDR[$1]=$3
}

# baresip_start NAME USER DOMAIN [PASSWORD [ACCOUNT-PARAMS]]: baresip in
# bs-NAME as USER@DOMAIN (registering there with PASSWORD, default pw-USER
# as the lab's Kamailio expects, answering calls by itself), files in
# $LAB_OUT/baresip-NAME (config, accounts, log); returns once its control
# socket answers. ACCOUNT-PARAMS are appended to the account line.
baresip_start() {
	local name=$1 user=$2 domain=$3 pw=${4:-pw-$2} params=${5:-}
	local dir=$LAB_OUT/baresip-$name ns=${BARESIP_NS[$1]} addr=${BARESIP_ADDR[$1]}
	mkdir -p "$dir"
	cat >"$dir/config" <<EOF
poll_method		epoll
sip_listen		$addr:5060
call_local_timeout	60
call_max_calls		4
audio_player		aubridge,$name
audio_source		ausine,440
ausrc_srate		48000
ausrc_channels		2
audio_alert		aubridge,$name
rtp_ports		16000-16099
rtp_timeout		0
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module_tmp		uuid.so
module_tmp		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$BARESIP_CTRL_PORT
EOF
	[ -z "$BARESIP_CAFILE" ] || echo "sip_cafile		$BARESIP_CAFILE" >>"$dir/config"
	echo "<sip:$user@$domain>;auth_pass=$pw;regint=120;answermode=auto;audio_codecs=PCMU$params" \
		>"$dir/accounts"
	ip netns exec "$ns" baresip -f "$dir" -v >"$dir/log" 2>&1 </dev/null &
	BARESIP_PID[$name]=$!
	SP_PIDS+=("$!")
	sp_wait_for "baresip $name control socket" 10 baresip_cmd "$name" reginfo
}

# baresip_cmd NAME COMMAND [PARAMS]: one ctrl_tcp command; prints its
# response's data, exits 0 when baresip said ok
baresip_cmd() {
	local name=$1 cmd=$2; shift 2
	ip netns exec "${BARESIP_NS[$name]}" python3 - "$BARESIP_CTRL_PORT" "$cmd" "$*" <<'EOF'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
m = json.dumps({"command": sys.argv[2], "params": sys.argv[3], "token": "t"}).encode()
s.sendall(b"%d:%s," % (len(m), m))
buf = b""
while True:
    # netstrings: LEN:DATA, -- events may come before the response
    while b":" not in buf:
        buf += s.recv(65536)
    n, rest = buf.split(b":", 1)
    while len(rest) < int(n) + 1:
        rest += s.recv(65536)
    msg, buf = json.loads(rest[:int(n)]), rest[int(n) + 1:]
    if msg.get("response"):
        print(msg.get("data", ""))
        sys.exit(0 if msg.get("ok") else 1)
EOF
}

# baresip_log NAME: its log so far
baresip_log() {
	cat "$LAB_OUT/baresip-$1/log" 2>/dev/null
}

# baresip_logged NAME REGEX: has its log a line matching REGEX?
baresip_logged() {
	grep -qE -- "$2" "$LAB_OUT/baresip-$1/log" 2>/dev/null
}

# baresip_count NAME REGEX: how many lines of its log match REGEX
baresip_count() {
	grep -cE -- "$2" "$LAB_OUT/baresip-$1/log" 2>/dev/null
}

# baresip_stop NAME: "quit" over the control socket, then waits (SIGTERM
# after 5 s); returns baresip's exit status
baresip_stop() {
	local pid=${BARESIP_PID[$1]:-} i
	[ -n "$pid" ] || return 1
	baresip_cmd "$1" quit >/dev/null 2>&1
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	local rc=$?
	unset "BARESIP_PID[$1]"
	return $rc
}
