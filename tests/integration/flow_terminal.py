#!/usr/bin/env python3
# A SIP-over-TCP terminal for test_tcp_outbound.sh whose connection to E
# goes away after it registered: connects from SRC:PORT to E:5060,
# registers USER with the Contact sip:USER@SRC:PORT;transport=tcp (with
# --outbound: ;ob, reg-id and +sip.instance, RFC 5626 §4.2), then resets
# the connection (SO_LINGER 0: its flow is gone, as behind a NAT that
# forgot it) and listens on SRC:PORT for WAIT seconds, where a new
# connection to its Contact would arrive. One line per event:
#   status CODE          the final answer to the REGISTER
#   listening            the flow is gone, the Contact listens
#   request METHOD       a request that came over a new connection (an
#                        INVITE is answered 480, anything else 200)
#   connections N        at the end: the connections made to its Contact
# With --tls PREFIX the same over TLS: to E:5061 (E's certificate verified
# against PREFIX's directory's ca.crt), the Contact says transport=tls and
# its listener speaks TLS with PREFIX.crt and PREFIX.key.
# Usage: flow_terminal.py SRC PORT E USER WAIT [--outbound] [--tls PREFIX]
import os, random, socket, ssl, struct, sys, time

from sip_stream import message, out

src, port, e, user, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5])
outbound = "--outbound" in sys.argv
tls = sys.argv[sys.argv.index("--tls") + 1] if "--tls" in sys.argv else None
proto = "tls" if tls else "tcp"


def answer(s, m, code, reason):
    keep = [l for l in m.split("\r\n")[1:] if l.split(":")[0].strip().lower() in
            ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")]
    keep = [l + (";tag=flow" if l.lower().startswith(("to:", "t:")) and "tag=" not in l else "") for l in keep]
    s.sendall(("SIP/2.0 %d %s\r\n" % (code, reason) + "\r\n".join(keep) +
               "\r\nContent-Length: 0\r\n\r\n").encode())


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, port))
s.settimeout(10)
s.connect((e, 5061 if tls else 5060))
if tls:
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(os.path.join(os.path.dirname(tls), "ca.crt"))
    s = cctx.wrap_socket(s, server_hostname=e)
contact = "<sip:%s@%s:%d;transport=%s%s>" % (user, src, port, proto, ";ob" if outbound else "")
if outbound:
    contact += ';reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-%012x>"' % port
s.sendall(("REGISTER sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/%s %s:%d;branch=z9hG4bK-%08x;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:%s@%s>;tag=r%d\r\n"
           "To: <sip:%s@%s>\r\n"
           "Call-ID: flow-%s-%d@%s\r\n"
           "CSeq: 1 REGISTER\r\n"
           "%s"
           "Contact: %s\r\n"
           "Expires: 300\r\n"
           "Content-Length: 0\r\n\r\n" % (e, proto.upper(), src, port, random.getrandbits(32), user, e, port, user, e,
                                          user, port, src, "Supported: outbound, path\r\n" if outbound else "",
                                          contact)).encode())
buf = b""
while True:
    m, buf = message(s, buf)
    if m.startswith("SIP/2.0 ") and int(m.split()[1]) >= 200:
        out("status " + m.split()[1])
        break
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()

l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((src, port))
l.listen(8)
if tls:
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(tls + ".crt", tls + ".key")
out("listening")
n, end = 0, time.time() + wait
while time.time() < end:
    l.settimeout(max(0.1, end - time.time()))
    try:
        c, _ = l.accept()
    except socket.timeout:
        break
    n += 1
    c.settimeout(5)
    try:
        if tls:
            c = sctx.wrap_socket(c, server_side=True)
        m, _ = message(c, b"")
        method = m.split(" ", 1)[0]
        out("request " + method)
        if method == "INVITE":
            answer(c, m, 480, "Temporarily Unavailable")
            message(c, b"")  # its ACK
        elif method != "ACK":
            answer(c, m, 200, "OK")
    except (EOFError, OSError, ssl.SSLError) as err:
        out("error " + str(err))
    c.close()
out("connections %d" % n)
