#!/bin/bash
# Terminals behind a NAT, signalling side (issue 14 item 2): STUN Binding
# requests sent to E:5060 (RFC 5626 keep-alives) are answered by the SP as
# E with the terminal's address as the SP sees it (XOR-MAPPED-ADDRESS,
# FINGERPRINT echoed, a bad one dropped), never proxied nor counted as parse
# errors; CRLF keep-alives still go on to the server; responses honour rport
# (RFC 3581) and add received= when the Via names another host than the
# source (RFC 3261 §18.2.1), with the Via each request had.
# A raw UDP client (python3) in ns te plays a terminal behind a NAT: it
# sends from 10.1.0.13 and an ephemeral port but writes a private address
# (192.168.77.7) in its Via and Contact.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lab.sh"
sp_require_root
sp_require_tools kamailio kamcmd python3 nft

E=$LAB_E
C=$LAB_C
D1=$LAB_D1

lab_up || { sp_fail "lab namespaces and links"; sp_done; exit 1; }
sp_daemon_start "$SP" sp1 || { sp_fail "sigproxyd starts in ns sp"; cat "$SP_TMP/sp1/log"; sp_done; exit 1; }
sp_pass "sigproxyd starts in ns sp"
out=$(sp_cli sp1 -c "configure terminal" -c "signaling-proxy" -c "server-side-address $C" \
	-c "proxy-strategy east seq 10" -c "match source 10.1.0.0/24" \
	-c "match destination $E/32 port 5060" -c "server $D1" -c "action proxy" -c "end" 2>&1)
check_eq "strategy accepted" "" "$out"
sp_wait_for "TPROXY rule in ns sp" 5 sh -c "ip netns exec '$SP' nft list ruleset | grep -q tproxy"
lab_start_kamailio "$SRV1" "$D1" srv1 || { sp_fail "kamailio #1 starts"; sp_done; exit 1; }

stat() {
	sp_cli sp1 -c 'show statistics' |
		sed -nE "s/^[[:space:]]*$1[[:space:]:.=]*([0-9]+).*/\\1/Ip" | head -1
}

# The terminal: one socket, one port for the whole test (as a NATed flow
# keeps its mapping). Commands on stdin, one result line each on stdout.
cat >"$SP_TMP/terminal.py" <<'EOF'
import os, socket, struct, sys, zlib
E = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.1.0.13", 0))
s.settimeout(2.0)
port = s.getsockname()[1]
print("port", port, flush=True)

def stun(fp, corrupt=False, typ=1):
    tid = os.urandom(12)
    m = struct.pack(">HHI", typ, 8 if fp else 0, 0x2112A442) + tid
    if fp:
        crc = (zlib.crc32(m) & 0xffffffff) ^ 0x5354554E
        m += struct.pack(">HHI", 0x8028, 4, crc ^ (1 if corrupt else 0))
    s.sendto(m, (E, 5060))
    try:
        r, src = s.recvfrom(2000)
    except socket.timeout:
        return "none"
    typ, ln, cookie = struct.unpack(">HHI", r[:8])
    out = ["from=%s:%d" % src, "type=%04x" % typ, "tid=%s" % ("ok" if r[8:20] == tid else "bad")]
    off = 20
    while off + 4 <= len(r):
        at, al = struct.unpack(">HH", r[off:off + 4])
        v = r[off + 4:off + 4 + al]
        if at == 0x0020 and v[1] == 1:
            xp = struct.unpack(">H", v[2:4])[0] ^ 0x2112
            xa = bytes(a ^ b for a, b in zip(v[4:8], struct.pack(">I", 0x2112A442)))
            out.append("mapped=%s:%d" % (socket.inet_ntoa(xa), xp))
        if at == 0x8028:
            ok = struct.unpack(">I", v)[0] == (zlib.crc32(r[:off]) & 0xffffffff) ^ 0x5354554E
            out.append("fingerprint=" + ("ok" if ok else "bad"))
        off += 4 + ((al + 3) & ~3)
    return " ".join(out)

def sip(method, via, rport, n):
    call = "stun-rport-%d@192.168.77.7" % n
    msg = ("%s sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s;branch=z9hG4bK-sr%d%s\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:nat@%s>;tag=t%d\r\n"
           "To: <sip:nat@%s>\r\n"
           "Call-ID: %s\r\n"
           "CSeq: %d %s\r\n"
           "Contact: <sip:nat@%s>\r\n"
           "%s"
           "Content-Length: 0\r\n\r\n") % (
        method, E, via, n, ";rport" if rport else "", E, n, E, call, n, method, via,
        "Expires: 120\r\n" if method == "REGISTER" else "")
    s.sendto(msg.encode(), (E, 5060))
    while True:
        try:
            r, src = s.recvfrom(65535)
        except socket.timeout:
            return "none"
        text = r.decode(errors="replace")
        if call not in text:
            continue
        status = text.split("\r\n", 1)[0].split(" ")[1]
        if status.startswith("1"):
            continue
        v = [l for l in text.split("\r\n") if l.lower().startswith(("via:", "v:"))]
        return "from=%s:%d status=%s via=%s" % (src[0], src[1], status, v[0].split(":", 1)[1].strip() if v else "-")

n = 0
for line in sys.stdin:
    a = line.split()
    n += 1
    if a[0] == "stun":
        print(stun(False), flush=True)
    elif a[0] == "stun-fp":
        print(stun(True), flush=True)
    elif a[0] == "stun-indication":
        print(stun(False, typ=0x11), flush=True)
    elif a[0] == "stun-badfp":
        print(stun(True, True), flush=True)
    elif a[0] == "crlf":
        s.sendto(b"\r\n\r\n", (E, 5060))
        print("sent", flush=True)
    elif a[0] in ("REGISTER", "OPTIONS"):
        print(sip(a[0], a[1], a[2] == "rport", n), flush=True)
EOF

coproc TERM { ip netns exec "$TE" python3 -u "$SP_TMP/terminal.py" "$E" 2>"$SP_TMP/terminal.err"; }
SP_PIDS+=("$TERM_PID")
# ask CMD: one command to the terminal, its answer line
ask() {
	local line
	echo "$*" >&"${TERM[1]}"
	read -r -t 10 line <&"${TERM[0]}" || line="(no answer)"
	echo "$line"
}
read -r -t 10 _ PORT <&"${TERM[0]}"
check_match "the terminal has a port" '^[0-9]+$' "${PORT:-}"
A="10.1.0.13:$PORT"

# ---- STUN on the SIP port ----
parse0=$(stat 'parse errors')
proxied0=$(stat 'proxied to servers')
r=$(ask stun)
check_match "STUN Binding request answered from E:5060" "^from=$E:5060 type=0101 tid=ok" "$r"
check_match "XOR-MAPPED-ADDRESS is the terminal's address as the SP sees it" "mapped=$A( |\$)" "$r"
check_no_match "no FINGERPRINT asked for, none given" "fingerprint" "$r"
r=$(ask stun-fp)
check_match "a request with FINGERPRINT answered" "^from=$E:5060 type=0101 tid=ok mapped=$A " "$r"
check_match "the answer carries a valid FINGERPRINT" "fingerprint=ok" "$r"
r=$(ask stun-badfp)
check_eq "a request with a wrong FINGERPRINT gets no answer" "none" "$r"
ka0=$(stat 'keep-alives')
r=$(ask stun-indication)
check_eq "a Binding indication (a keep-alive) gets no answer" "none" "$r"
check_eq "... and counts as a keep-alive" "$((ka0 + 1))" "$(stat 'keep-alives')"
check_eq "STUN is not a parse error" "$parse0" "$(stat 'parse errors')"
check_eq "STUN is not proxied to the server" "$proxied0" "$(stat 'proxied to servers')"
check_eq "STUN requests answered counted" 2 "$(stat 'STUN requests answered')"
check_eq "the wrong FINGERPRINT counted as a STUN error" 1 "$(stat 'STUN errors')"

# ---- rport and received towards the terminal ----
r=$(ask REGISTER 192.168.77.7:5060 rport)
check_match "REGISTER through the SP: 200 back at the terminal's source port, from E" \
	"^from=$E:5060 status=200 " "$r"
check_match "its own Via sent-by comes back" "via=SIP/2.0/UDP 192\.168\.77\.7:5060;" "$r"
check_match "rport= is the source port (RFC 3581)" "rport=$PORT(;|\$)" "$r"
check_match "received= is the source address" "received=10\.1\.0\.13(;|\$)" "$r"
check_match "the registrar holds C:c for it, not the private contact" \
	"^nat sip:nat@$C:4[0-9]{4} " "$(lab_kamailio_contacts srv1)"
r=$(ask OPTIONS 192.168.77.7:5060 no-rport)
check_match "OPTIONS without rport answered" "^from=$E:5060 status=200 " "$r"
check_match "received= added: the Via host is not the source (RFC 3261 §18.2.1)" \
	"received=10\.1\.0\.13(;|\$)" "$r"
check_no_match "no rport= when the terminal did not ask for it" "rport" "$r"
r=$(ask OPTIONS 192.168.77.8:5062 rport)
check_match "a later request's own Via comes back, not the first one's" \
	"via=SIP/2.0/UDP 192\.168\.77\.8:5062;.*rport=$PORT" "$r"

# ---- CRLF keep-alives still go on ----
ka0=$(stat 'keep-alives')
proxied0=$(stat 'proxied to servers')
ask crlf >/dev/null
sp_wait_for "keep-alive counted" 3 sh -c "[ \"\$($SPCLI -s $SP_TMP/sp1/cli.sock -c 'show statistics' | sed -nE 's/^ *keep-alives *([0-9]+)/\\1/p')\" -gt $ka0 ]"
check "CRLF keep-alive counted" test "$(stat 'keep-alives')" -gt "$ka0"
check "CRLF keep-alive proxied to the server" test "$(stat 'proxied to servers')" -gt "$proxied0"
check_eq "still no parse error" "$parse0" "$(stat 'parse errors')"

exec {TERM[1]}>&-
lab_down
sp_daemon_stop "$(cat "$SP_TMP/sp1/pid")"
check_eq "sigproxyd exits cleanly" 0 $?
sp_done
