#!/usr/bin/env python3
# A SIP-over-TLS registrar for test_tls_resume.sh (Python's ssl: OpenSSL,
# a TLS server other than the SP's GnuTLS): listens on ADDR:PORT with
# CERT and KEY, one connection at a time; each REGISTER is answered 200
# (its Contact echoed with its expiry) and the connection is closed after the answer, as a
# server closing an idle connection does. One line per event:
#   conn PEER VERSION resumed yes|no   a handshake done: whether it resumed a session
#   register CONTACT           a REGISTER answered
# TLS 1.3 session tickets (two per connection, OpenSSL's default) are
# issued by the one context, so a client offering one resumes.
# Usage: tls_server.py ADDR PORT CERT KEY [--tls12]
#   --tls12: TLS 1.2 at most (RFC 5077 session tickets)
import socket, ssl, sys

from sip_stream import message, out

addr, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
if "--tls12" in sys.argv:
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
ls = socket.socket(fam, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(16)


def serve(s):
    buf = b""
    while True:
        m, buf = message(s, buf)
        head = m.split("\r\n\r\n", 1)[0]
        lines = head.split("\r\n")
        if not lines[0].startswith("REGISTER "):
            continue
        keep = [l for l in lines[1:] if l.split(":")[0].strip().lower() in
                ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "contact", "m")]
        keep = [l + (";tag=reg" if l.lower().startswith(("to:", "t:")) else
                     ";expires=300" if l.lower().startswith(("contact:", "m:")) else "") for l in keep]
        contact = [l.split(":", 1)[1].strip() for l in keep if l.lower().startswith(("contact:", "m:"))]
        s.sendall(("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
                   "\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n").encode())
        out("register " + (contact[0] if contact else "-"))
        return


while True:
    raw, peer = ls.accept()
    raw.settimeout(10)
    try:
        s = ctx.wrap_socket(raw, server_side=True)
        out("conn %s %s resumed %s" % (peer[0], s.version(), "yes" if s.session_reused else "no"))
        serve(s)
        s.close()
    except (OSError, EOFError, ssl.SSLError) as e:
        out("error %s" % e)
        raw.close()
