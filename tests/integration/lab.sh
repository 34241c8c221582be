# shellcheck shell=bash disable=SC2034  # sourced; its variables are for the tests
# The SIP lab for the proxy engine's integration tests: terminals, the
# signaling proxy's namespace and two Kamailio servers, joined by veth links.
# Source it after lib.sh (which removes the namespaces and processes on exit).
#
#   te (terminals)              sp (sigproxyd)                srv1 / srv2
#   10.1.0.10-13/24  eth0 ---- te0   10.1.0.1/24, 10.2.0.1/24
#   10.2.0.10-11/24                  srv1  192.0.2.1/28  ---- eth0 192.0.2.10/28 (D1)
#                                    srv2  192.0.2.17/28 ---- eth0 192.0.2.20/28 (D2)
#
# E = 198.51.100.1 (the virtual server) exists nowhere; C = 192.0.2.1.
# Everything the lab writes goes under $SP_TMP/lab.

LAB_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_SIPP_DIR=$LAB_HOME/sipp
LAB_KAMAILIO_CFG=$LAB_HOME/kamailio/kamailio.cfg
LAB_MALFORMED_DIR=$LAB_HOME/malformed
LAB_OUT=$SP_TMP/lab

LAB_E=198.51.100.1
LAB_C=192.0.2.1
LAB_D1=192.0.2.10
LAB_D2=192.0.2.20
# Interface names inside the namespaces.
LAB_TE_IF=eth0
LAB_SP_TE_IF=te0
LAB_SP_SRV1_IF=srv1
LAB_SP_SRV2_IF=srv2
LAB_SRV_IF=eth0
# SIP to or from port 5060, the engine's server-side ports c
# (SP_SIGNALING_PORT_FIRST..LAST in daemon/sp_engine.h), and every IP
# fragment but the first (no UDP header to match), so tshark can reassemble
# big datagrams.
LAB_SIP_FILTER="udp port 5060 or udp portrange 40000-49999 or (ip[6:2] & 0x1fff != 0)"

# Bound every SIPp run: per receive (ms), per process (s), and the whole
# command (s) in case SIPp itself hangs.
LAB_SIPP_RECV_TIMEOUT=${LAB_SIPP_RECV_TIMEOUT:-8000}
LAB_SIPP_TIMEOUT=${LAB_SIPP_TIMEOUT:-40}

declare -A LAB_KAM_PID=() LAB_KAM_SOCK=()
LAB_CAPTURE_PIDS=()
LAB_CAPTURE_FILES=()
LAB_SIPP_PIDS=()

# lab_up: creates the four namespaces and their links; sets TE, SP, SRV1, SRV2
lab_up() {
	local ns
	# sp_netns runs in this shell, not in $(...): a subshell would lose its
	# record of the namespace, and lib.sh's cleanup would leave it behind.
	for ns in te sp srv1 srv2; do
		sp_netns "$ns" >/dev/null || return 1
	done
	TE=$SP_TAG-te SP=$SP_TAG-sp SRV1=$SP_TAG-srv1 SRV2=$SP_TAG-srv2
	mkdir -p "$LAB_OUT"
	# Each veth is created straight into its two namespaces, so its names
	# never meet another test's in the root namespace.
	ip link add "$LAB_TE_IF" netns "$TE" type veth peer name "$LAB_SP_TE_IF" netns "$SP" &&
	ip link add "$LAB_SRV_IF" netns "$SRV1" type veth peer name "$LAB_SP_SRV1_IF" netns "$SP" &&
	ip link add "$LAB_SRV_IF" netns "$SRV2" type veth peer name "$LAB_SP_SRV2_IF" netns "$SP" ||
		return 1

	local a
	for a in 10.1.0.10 10.1.0.11 10.1.0.12 10.1.0.13 10.2.0.10 10.2.0.11; do
		ip -n "$TE" addr add "$a/24" dev "$LAB_TE_IF" || return 1
	done
	ip -n "$TE" link set "$LAB_TE_IF" up
	# One default route is enough: the SP owns 10.1.0.1 and 10.2.0.1 on
	# the same link and answers ARP for both.
	ip -n "$TE" route add default via 10.1.0.1 || return 1

	ip -n "$SP" addr add 10.1.0.1/24 dev "$LAB_SP_TE_IF" &&
	ip -n "$SP" addr add 10.2.0.1/24 dev "$LAB_SP_TE_IF" &&
	ip -n "$SP" addr add 192.0.2.1/28 dev "$LAB_SP_SRV1_IF" &&
	ip -n "$SP" addr add 192.0.2.17/28 dev "$LAB_SP_SRV2_IF" || return 1
	for a in "$LAB_SP_TE_IF" "$LAB_SP_SRV1_IF" "$LAB_SP_SRV2_IF"; do
		ip -n "$SP" link set "$a" up
	done
	ip netns exec "$SP" sysctl -qw net.ipv4.ip_forward=1 || return 1
	# Answers leave as E, an address no route points back to: no reverse
	# path filtering on the proxy.
	for a in all default "$LAB_SP_TE_IF" "$LAB_SP_SRV1_IF" "$LAB_SP_SRV2_IF"; do
		ip netns exec "$SP" sysctl -qw "net.ipv4.conf.$a.rp_filter=0" || return 1
	done

	ip -n "$SRV1" addr add "$LAB_D1/28" dev "$LAB_SRV_IF" &&
	ip -n "$SRV1" link set "$LAB_SRV_IF" up &&
	ip -n "$SRV1" route add default via 192.0.2.1 &&
	ip -n "$SRV2" addr add "$LAB_D2/28" dev "$LAB_SRV_IF" &&
	ip -n "$SRV2" link set "$LAB_SRV_IF" up &&
	ip -n "$SRV2" route add default via 192.0.2.17 || return 1
}

# lab_up_or_end: lab_up, or the test ends failed
lab_up_or_end() {
	lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
}

# lab_sp_start [SIGPROXYD-ARGS...]: sigproxyd sp1 in ns sp, or the test
# ends failed (its log shown); SPD_PID: its pid
lab_sp_start() {
	sp_daemon_start "$SP" sp1 "$@" ||
		{ sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
	SPD_PID=$SP_DAEMON_PID
}

# lab_stat NAME COUNTER: COUNTER's number in sigproxyd NAME's show statistics
lab_stat() {
	sp_cli "$1" -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$2[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}

# lab_up_with_state: the lab, and sigproxyd sp1 in ns sp keeping its state
# in $STATE (the restart tests' start); the test ends when either fails
lab_up_with_state() {
	lab_up_or_end
	sp_daemon_start "$SP" sp1 --state-dir "$STATE" ||
		{ sp_fail "sigproxyd starts with a state directory"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
	sp_pass "sigproxyd starts with a state directory"
}

# lab_sp_kill9_restart: sigproxyd sp1 killed (-9) and started again on its
# state directory $STATE (passed), or the test ends failed
lab_sp_kill9_restart() {
	kill -9 "$SP_DAEMON_PID"
	wait "$SP_DAEMON_PID" 2>/dev/null
	sp_daemon_start "$SP" sp1 --state-dir "$STATE" ||
		{ sp_fail "sigproxyd restarts after kill -9"; tail -20 "$SP_TMP/sp1/log"; sp_done; exit 1; }
	sp_pass "sigproxyd restarts after kill -9"
}

# lab_west_over_tcp: sp1's strategy west (10.2.0.0/24 to D2 over TCP),
# written (checked), and its TPROXY rule waited for
lab_west_over_tcp() {
	local out
	out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $LAB_C" \
		-c "proxy-strategy west seq 20" -c "match source 10.2.0.0/24" \
		-c "match destination $LAB_E/32 port 5060" -c "server $LAB_D2 transport tcp" -c "action proxy" -c "end" \
		-c "write memory" 2>&1)
	check_match "the strategy (server over TCP) is accepted and written" '\[OK\]' "$out"
	sp_wait_for "TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
}

# lab_default_route: gives the SP a default route like any router's, via
# D1 on the server-side link: E (and every other address) is then routable,
# so a packet to E that the SP does not translate leaves on the server link
# (where a capture sees it) instead of being dropped for want of a route.
lab_default_route() {
	ip -n "$SP" route replace default via "$LAB_D1" dev "$LAB_SP_SRV1_IF"
}

# lab_start_kamailio NS ADDR NAME [KAMAILIO-ARGS...]: Kamailio (../kamailio/kamailio.cfg) on
# udp:ADDR:5060 in NS, also answering for E; files in $LAB_OUT/kam-NAME
# (log, pid, ctl.sock). Returns once it answers on its control socket.
lab_start_kamailio() {
	local ns=$1 addr=$2 name=$3; shift 3
	local dir=$LAB_OUT/kam-$name
	mkdir -p "$dir"
	# -DD: no daemonizing, the pid we hold is the main process, whose
	# SIGTERM takes its children down. -E: the log goes to our file.
	ip netns exec "$ns" kamailio -f "$LAB_KAMAILIO_CFG" -l "udp:$addr:5060" \
		--alias="$LAB_E" --alias="$addr" -A "CTL_SOCKET=\"unix:$dir/ctl.sock\"" \
		-P "$dir/pid" -Y "$dir" -m 32 -M 4 -DD -E "$@" >"$dir/log" 2>&1 &
	LAB_KAM_PID[$name]=$!
	LAB_KAM_SOCK[$name]=$dir/ctl.sock
	SP_PIDS+=("$!")
	sp_wait_for "kamailio $name" 15 kamcmd -s "unix:$dir/ctl.sock" core.uptime || {
		tail -20 "$dir/log" | sed 's/^/#   /'
		return 1
	}
}

# lab_start_kamailio_tcp NS ADDR NAME [KAMAILIO-ARGS...]: the same Kamailio
# listening on tcp:ADDR:5060 as well (WITH_TCP in kamailio.cfg)
lab_start_kamailio_tcp() {
	local ns=$1 addr=$2 name=$3; shift 3
	lab_start_kamailio "$ns" "$addr" "$name" -A WITH_TCP -l "tcp:$addr:5060" "$@"
}

# lab_start_kamailio_tls NS ADDR NAME CERT KEY [KAMAILIO-ARGS...]: the same
# Kamailio listening on tcp:ADDR:5060 and tls:ADDR:5061 as well, with the
# certificate CERT and its key KEY (PEM files)
lab_start_kamailio_tls() {
	local ns=$1 addr=$2 name=$3 cert=$4 key=$5; shift 5
	lab_start_kamailio_tcp "$ns" "$addr" "$name" -A WITH_TLS -A "TLS_CERT=\"$cert\"" \
		-A "TLS_KEY=\"$key\"" -l "tls:$addr:5061" "$@"
}

# lab_tls_ca DIR NAME: a self-signed test CA, DIR/NAME.key and DIR/NAME.crt
lab_tls_ca() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/$2.key" -subj "/CN=$2" -days 2 \
		-out "$1/$2.crt" 2>/dev/null
}

# lab_tls_cert DIR NAME CA CN SAN: DIR/NAME.key and DIR/NAME.crt for CN with
# subjectAltName SAN ("IP:A.B.C.D,DNS:x.test"), signed by DIR/CA.key/.crt
lab_tls_cert() {
	local dir=$1 name=$2 ca=$3 cn=$4 san=$5
	openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "/CN=$cn" \
		-out "$dir/$name.csr" 2>/dev/null &&
	openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.crt" -CAkey "$dir/$ca.key" -CAcreateserial \
		-days 2 -extfile <(printf 'subjectAltName=%s\n' "$san") -out "$dir/$name.crt" 2>/dev/null
}

# lab_tls_certs DIR [NAME CN SAN]...: DIR made, a test CA "ca" in it and
# each NAME's certificate signed by it (see lab_tls_cert); checked
lab_tls_certs() {
	local dir=$1 rc
	shift
	mkdir -p "$dir"
	lab_tls_ca "$dir" ca
	rc=$?
	while [ "$rc" = 0 ] && [ $# -ge 3 ]; do
		lab_tls_cert "$dir" "$1" ca "$2" "$3"
		rc=$?
		shift 3
	done
	check_eq "the test's certificates are made" 0 "$rc"
}

# bob, a TLS terminal (tls_client.py) holding his connection to E, for the
# tests that take it away (a restart, a takeover):
# lab_bob_tls_start NS E DIR: bob from 10.1.0.11 to E:5061 (E's certificate
# checked against DIR/ca.crt), his lines in DIR/bob.out; he connects again
# once DIR/bob-again exists and ends once DIR/bob-done does. BOB_PID: his pid.
lab_bob_tls_start() {
	ip netns exec "$1" timeout 80 python3 "$LAB_HOME/tls_client.py" 10.1.0.11 "$2" 5061 "$3/ca.crt" bob \
		--hold "$3/bob-done" --reconnect "$3/bob-again" >"$3/bob.out" 2>&1 &
	BOB_PID=$!
	SP_PIDS+=("$BOB_PID")
}

# lab_bob_tls_calls DIR NODE ENDS NEW NS CALLER SERVER: once bob connected
# again: the call CALL_PID (SIPp to-bob) ends, its BYE answered by bob
# (checked as ENDS), and a new call from CALLER in NS through SERVER reaches
# him (checked as NEW); sigproxyd NODE's log shown on failure. bob then ends.
lab_bob_tls_calls() {
	local dir=$1 node=$2 ends=$3 new=$4 ns=$5 caller=$6 server=$7 rc
	lab_sipp_wait "$CALL_PID"
	rc=$?
	check_eq "$ends" 0 "$rc"
	[ "$rc" == 0 ] || { lab_sipp_log to-bob; sed 's/^/#   bob: /' "$dir/bob.out"; tail -20 "$SP_TMP/$node/log"; } |
		sed 's/^/#   /'
	check_eq "bob answered that BYE" 1 "$(grep -c '^invite-answered' "$dir/bob.out")"
	lab_sipp "$ns" to-bob2 -sf "$LAB_SIPP_DIR/uac.xml" -i "$caller" -p 5070 -s bob -m 1 -d 100 "$server:5060"
	rc=$?
	check_eq "$new" 0 "$rc"
	[ "$rc" == 0 ] || { lab_sipp_log to-bob2; sed 's/^/#   bob: /' "$dir/bob.out"; } | sed 's/^/#   /'
	touch "$dir/bob-done"
	wait "$BOB_PID"
}

# lab_tcp_closed_or_open NS ADDR PORT: a connection from NS to ADDR:PORT;
# "closed" if the other end closes (or resets) it within 2 s, else "open"
lab_tcp_closed_or_open() {
	ip netns exec "$1" python3 -c "
import socket
s = socket.create_connection(('$2', $3), 3)
s.settimeout(2)
try:
    print('closed' if s.recv(1) == b'' else 'open')
except (socket.timeout, ConnectionResetError) as e:
    print('closed' if isinstance(e, ConnectionResetError) else 'open')
" 2>&1
}

# lab_start_kamailio_auth NS ADDR NAME [KAMAILIO-ARGS...]: the same Kamailio
# asking for digest authentication (WITH_AUTH in kamailio.cfg): USER's
# password is pw-USER. "-A WITH_OUTBOUND" adds RFC 5626 keep-alives.
lab_start_kamailio_auth() {
	local ns=$1 addr=$2 name=$3; shift 3
	lab_start_kamailio "$ns" "$addr" "$name" -A WITH_AUTH "$@"
}

# lab_stop_kamailio NAME: SIGTERM, wait; returns Kamailio's exit status
lab_stop_kamailio() {
	local pid=${LAB_KAM_PID[$1]:-}
	[ -n "$pid" ] || return 1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	local rc=$?
	unset "LAB_KAM_PID[$1]"
	return $rc
}

# lab_kamailio_location NAME: the raw location table (kamcmd ul.dump)
lab_kamailio_location() {
	kamcmd -s "unix:${LAB_KAM_SOCK[$1]}" ul.dump
}

# lab_kamailio_contacts NAME: one "AOR CONTACT-URI RECEIVED" line per
# registered contact (RECEIVED "-" when Kamailio recorded none).
lab_kamailio_contacts() {
	lab_kamailio_location "$1" | awk '
		$1 == "AoR:" { aor = $2 }
		$1 == "Address:" { addr = $2 }
		$1 == "Received:" { rcv = $2 }
		/^[ \t]*}/ && addr != "" { print aor, addr, (rcv == "" || rcv == "[not" ? "-" : rcv); addr = ""; rcv = "" }
	' | sort -u
}

# lab_rtp_uac FILE PCAP: the lab's caller (uac.xml: INVITE, ACK and BYE
# through the Record-Route set) playing PCAP once answered, as FILE
lab_rtp_uac() {
	sed "s|^  <pause/>|  <nop><action><exec play_pcap_audio=\"$2\"/></action></nop>\n  <pause/>|" \
		"$LAB_SIPP_DIR/uac.xml" >"$1"
}

# lab_sipp_cmd NS NAME ARGS...: sets LAB_SIPP_CMD to the SIPp command line
# (in NS, bounded in time, its error log, final screen and message trace in
# $LAB_OUT/sipp/NAME.*) and LAB_SIPP_OUT to its output file
lab_sipp_cmd() {
	local ns=$1 name=$2; shift 2
	local out=$LAB_OUT/sipp/$name
	mkdir -p "$LAB_OUT/sipp"
	LAB_SIPP_OUT=$out.out
	LAB_SIPP_CMD=(timeout -k 5 $((LAB_SIPP_TIMEOUT + 10)) ip netns exec "$ns" sipp "$@"
		-nostdin -trace_err -error_file "$out.err" -trace_screen -screen_file "$out.screen"
		-trace_msg -message_file "$out.msg" -recv_timeout "$LAB_SIPP_RECV_TIMEOUT"
		-timeout "$LAB_SIPP_TIMEOUT" -timeout_error)
}

# lab_sipp NS NAME ARGS...: runs SIPp (see lab_sipp_cmd); returns its exit
# status (0: every call succeeded)
lab_sipp() {
	lab_sipp_cmd "$@"
	"${LAB_SIPP_CMD[@]}" >"$LAB_SIPP_OUT" 2>&1
}

# lab_sipp_bg NS NAME ARGS...: lab_sipp in the background; sets LAB_SIPP_PID
# (timeout's, which passes a SIGTERM on to SIPp)
lab_sipp_bg() {
	lab_sipp_cmd "$@"
	"${LAB_SIPP_CMD[@]}" >"$LAB_SIPP_OUT" 2>&1 &
	LAB_SIPP_PID=$!
	LAB_SIPP_PIDS+=("$!")
}

# lab_sipp_wait PID: SIPp's exit status
lab_sipp_wait() {
	wait "$1"
}

# lab_sipp_log NAME: the run's final screen and errors, for a failure report
lab_sipp_log() {
	local out=$LAB_OUT/sipp/$1
	cat "$out.out" "$out.screen" "$out.err" 2>/dev/null | grep -v '^\s*$' | tail -30
}

# lab_sipp_successful NAME: the number of successful calls in its final screen
lab_sipp_successful() {
	sed -n 's/^ *Successful call *| *[0-9]* *| *\([0-9]*\).*/\1/p' "$LAB_OUT/sipp/$1.screen" | tail -1
}

# lab_bridges NS BRIDGE...: each BRIDGE in NS, up, without multicast
# snooping (a switch between namespaces)
lab_bridges() {
	local ns=$1 br; shift
	for br in "$@"; do
		ip -n "$ns" link add "$br" type bridge || return 1
		ip -n "$ns" link set "$br" type bridge mcast_snooping 0
		ip -n "$ns" link set "$br" up
	done
}

# lab_bridge_port SW NS IFNAME BRIDGE PORTNAME: a veth IFNAME in NS whose
# peer PORTNAME is a port of BRIDGE in namespace SW
lab_bridge_port() {
	ip link add "$3" netns "$2" type veth peer name "$5" netns "$1" &&
		ip -n "$1" link set "$5" master "$4" && ip -n "$1" link set "$5" up &&
		ip -n "$2" link set "$3" up
}

# lab_hostport ADDR PORT: ADDR:PORT, an IPv6 ADDR in brackets
lab_hostport() {
	case $1 in
	*:*) printf '[%s]:%s' "$1" "$2" ;;
	*) printf '%s:%s' "$1" "$2" ;;
	esac
}

# lab_bound NS ADDR PORT: is a UDP socket bound there (IPv4 or IPv6)?
lab_bound() {
	ip netns exec "$1" ss -Hnlu "src $(lab_hostport "$2" "$3")" | grep -q .
}

# lab_register NS IP PORT USER SERVER [SIPP-ARGS...]: one REGISTER from
# IP:PORT for USER, sent to SERVER:5060 (IPv4 or IPv6); 0 on a 200
lab_register() {
	local ns=$1 ip=$2 port=$3 user=$4 server=$5; shift 5
	lab_sipp "$ns" "reg-$user-$ip-$port" -sf "$LAB_SIPP_DIR/register.xml" \
		-i "$ip" -p "$port" -s "$user" -m 1 "$@" "$(lab_hostport "$server" 5060)"
}

# lab_callee_start NS IP PORT USER SERVER N SCENARIO [SIPP-ARGS...]: registers
# USER at IP:PORT, then answers N calls there with SCENARIO (a file in sipp/)
# in the background; sets LAB_SIPP_PID. The registration and the answering
# are two SIPp runs on one address: SIPp maps messages to calls by Call-ID,
# and a UAC scenario would drop the INVITE of a Call-ID it does not know.
lab_callee_start() {
	local ns=$1 ip=$2 port=$3 user=$4 server=$5 n=$6 sf=$7; shift 7
	lab_register "$ns" "$ip" "$port" "$user" "$server" || return 1
	lab_sipp_bg "$ns" "callee-$user-${sf%.xml}" -sf "$LAB_SIPP_DIR/$sf" -i "$ip" -p "$port" \
		-s "$user" -m "$n" "$@" "$(lab_hostport "$server" 5060)"
	sp_wait_for "callee $user on $(lab_hostport "$ip" "$port")" 10 lab_bound "$ns" "$ip" "$port"
}

# lab_expect_call DESC SERVER ALICE BOB CALLEE-SCENARIO CALLER-SCENARIO [N]:
# bob (BOB:5060 in TE) registers at SERVER and answers N calls from alice
# (ALICE:5060) through SERVER:5060; checks that both SIPp runs exit 0 (their
# logs when not). 1 when bob could not register and listen, else 0.
lab_expect_call() {
	local desc=$1 server=$2 alice=$3 bob=$4 uas=$5 uac=$6 n=${7:-1} rc crc
	if ! lab_callee_start "$TE" "$bob" 5060 bob "$server" "$n" "$uas"; then
		sp_fail "$desc: callee registers and listens"
		return 1
	fi
	lab_sipp "$TE" "alice-$uac" -sf "$LAB_SIPP_DIR/$uac" -i "$alice" -p 5060 -s bob \
		-m "$n" -d 300 "$(lab_hostport "$server" 5060)"
	rc=$?
	lab_sipp_wait "$LAB_SIPP_PID"
	crc=$?
	check_eq "$desc: caller and callee SIPp exit 0" "0 0" "$rc $crc"
	[ "$rc $crc" == "0 0" ] || { lab_sipp_log "alice-$uac"; lab_sipp_log "callee-bob-${uas%.xml}"; } |
		sed 's/^/#   /'
	return 0
}

# lab_call NS IP PORT TO SERVER SCENARIO [SIPP-ARGS...]: one call from
# IP:PORT to user TO through SERVER:5060 with SCENARIO; SIPp's exit status
lab_call() {
	local ns=$1 ip=$2 port=$3 to=$4 server=$5 sf=$6; shift 6
	lab_sipp "$ns" "caller-$to-${sf%.xml}-$ip-$port" -sf "$LAB_SIPP_DIR/$sf" \
		-i "$ip" -p "$port" -s "$to" -m 1 "$@" "$server:5060"
}

# lab_capture_start NS IFACE FILE [FILTER]: dumpcap on IFACE in NS (capture
# filter default: $LAB_SIP_FILTER); returns once it captures
lab_capture_start() {
	local ns=$1 ifc=$2 file=$3 filter=${4:-$LAB_SIP_FILTER}
	rm -f "$file.tsv"
	ip netns exec "$ns" dumpcap -q -i "$ifc" -f "$filter" -w "$file" >"$file.log" 2>&1 &
	LAB_CAPTURE_PIDS+=("$!")
	LAB_CAPTURE_FILES+=("$file")
	SP_PIDS+=("$!")
	sp_wait_for "dumpcap on $ifc" 10 grep -q "Capturing on" "$file.log" || return 1
	# dumpcap says so just before its first poll of the socket.
	sleep 0.3
}

# lab_capture_stop: stops every capture (SIGINT: dumpcap writes out what it
# holds and closes the file), waits for them
lab_capture_stop() {
	local p
	for p in "${LAB_CAPTURE_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${LAB_CAPTURE_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	LAB_CAPTURE_PIDS=()
	# a decode made while a capture ran is incomplete: never reuse it
	for p in "${LAB_CAPTURE_FILES[@]}"; do rm -f "$p.tsv"; done
	LAB_CAPTURE_FILES=()
}

# lab_tshark FILE ARGS...: tshark on a capture, quietly, the c ports decoded
# as SIP (like 5060)
lab_tshark() {
	local file=$1; shift
	tshark -r "$file" -d "udp.port==40000-49999,sip" "$@" 2>/dev/null
}

# lab_pcap_table FILE: one tab-separated line per packet (IP fragments
# reassembled into the last one), decoded once and kept in FILE.tsv, since
# every tshark start costs seconds:
#   1 frame  2 protocol (SIP, SIP/SDP, UDP, DNS, IPv4 for a fragment...)
#   3 src  4 src port  5 dst  6 dst port  7 request method  8 status code
#   9 top Via  10 SDP c= values (comma-separated)  11 Call-ID
lab_pcap_table() {
	if [ ! -s "$1.tsv" ] || [ "$1" -nt "$1.tsv" ]; then
		lab_tshark "$1" -T fields -E separator=/t -E occurrence=f \
			-e frame.number -e _ws.col.Protocol -e ip.src -e udp.srcport -e ip.dst \
			-e udp.dstport -e sip.Method -e sip.Status-Code -e sip.Via \
			-E occurrence=a -e sdp.connection_info -E occurrence=f -e sip.Call-ID >"$1.tsv"
	fi
	cat "$1.tsv"
}

# lab_pcap_sip FILE: the table's SIP packets only
lab_pcap_sip() {
	lab_pcap_table "$1" | awk -F '\t' '$2 ~ /^SIP/'
}

# lab_pcap_endpoints FILE: the distinct "SRC:PORT > DST:PORT" pairs of the
# SIP packets
lab_pcap_endpoints() {
	lab_pcap_sip "$1" | awk -F '\t' '{ print $3 ":" $4 " > " $5 ":" $6 }' | sort -u
}

# lab_pcap_addresses FILE [all]: the distinct IP addresses of the SIP
# packets (with "all": of every UDP packet), one a line
lab_pcap_addresses() {
	lab_pcap_table "$1" | awk -F '\t' -v all="${2:-}" \
		'$4 != "" && (all == "all" || $2 ~ /^SIP/) { print $3; print $5 }' | sort -u
}

# lab_pcap_messages FILE: "COUNT WHAT" for every request method and status
# code among the SIP packets (retransmissions included)
lab_pcap_messages() {
	lab_pcap_sip "$1" | awk -F '\t' '{ print ($7 != "" ? $7 : $8) }' | sort | uniq -c |
		awk '{ print $1, $2 }'
}

# lab_pcap_message_count FILE WHAT: how many METHOD requests or STATUS
# responses the capture holds
lab_pcap_message_count() {
	lab_pcap_messages "$1" | awk -v w="$2" '$2 == w { n = $1 } END { print n + 0 }'
}

# lab_pcap_count FILE DISPLAY-FILTER: how many packets match (a tshark run
# of its own: for filters the table does not cover)
lab_pcap_count() {
	lab_tshark "$1" -Y "$2" -T fields -e frame.number | grep -c .
}

# lab_pcap_sdp FILE: the distinct "SRC > DST c=CONNECTION-INFO", one for
# every c= line of every SDP body
lab_pcap_sdp() {
	lab_pcap_table "$1" | awk -F '\t' '$10 != "" {
		n = split($10, c, ",")
		for (i = 1; i <= n; i++) print $3 " > " $5 " c=" c[i]
	}' | sort -u
}

# lab_send_udp NS SRC-IP DST-IP DST-PORT FILE...: each FILE as one UDP
# datagram from SRC-IP (ephemeral port) to DST-IP:DST-PORT, IPv4 or IPv6
lab_send_udp() {
	local ns=$1 src=$2 dst=$3 port=$4; shift 4
	ip netns exec "$ns" python3 -c '
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
for name in sys.argv[4:]:
	with open(name, "rb") as f:
		s.sendto(f.read(), (dst, port))
' "$src" "$dst" "$port" "$@"
}

# lab_down: stops the SIPp runs still going, the captures and the Kamailios
lab_down() {
	local p name
	for p in "${LAB_SIPP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${LAB_SIPP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	LAB_SIPP_PIDS=()
	lab_capture_stop
	for name in "${!LAB_KAM_PID[@]}"; do lab_stop_kamailio "$name"; done
	return 0
}

# lab_stray_processes: what still runs in the lab's namespaces or from its
# files (nothing, after lab_down)
lab_stray_processes() {
	local ns
	for ns in "$TE" "$SP" "$SRV1" "$SRV2"; do ip netns pids "$ns" 2>/dev/null; done
	pgrep -f "$LAB_OUT" 2>/dev/null
	return 0
}
