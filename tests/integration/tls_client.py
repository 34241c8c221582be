#!/usr/bin/env python3
# A SIP-over-TLS terminal for test_tls.sh (Python's ssl: OpenSSL, a real
# TLS client): connects from SRC to E:PORT, verifies E's certificate
# against CA (for E's address), registers USER with sips: URIs and prints
# what happened, one line per event:
#   cert CN            the subject of E's certificate
#   resumed yes|no     whether the handshake resumed the previous session
#   status CODE        the final answer to a REGISTER
#   invite-answered    an INVITE that reached it was answered 200 (its BYE too)
#   closed             E closed the held connection (--hold)
# Usage: tls_client.py SRC E PORT CA USER [--hold TRIGGER-FILE] [--resume]
#                      [--reconnect TRIGGER-FILE]
#   SRC and E may be IPv6 addresses (bracketed in the URIs and the Via)
#   --hold: after registering, keep the connection, answer INVITEs and BYEs,
#           and register again over the same connection once TRIGGER-FILE
#           exists (then exit)
#   --resume: register, close, connect again resuming the session, register
#   --reconnect (with --hold): once its TRIGGER-FILE exists, drop the held
#           connection, connect again from the same port (offering the last
#           session), register over the new one and hold it (a terminal
#           after its proxy's failover or restart)
import os, random, socket, ssl, struct, sys, time

args = [a for a in sys.argv[1:] if not a.startswith("--")]
src, e, port, ca, user = args[0], args[1], int(args[2]), args[3], args[4]
hold = sys.argv[sys.argv.index("--hold") + 1] if "--hold" in sys.argv else None
again = sys.argv[sys.argv.index("--reconnect") + 1] if "--reconnect" in sys.argv else None
resume = "--resume" in sys.argv
for a in (hold, again):
    if a:
        args.remove(a)
src_uri = "[%s]" % src if ":" in src else src
e_uri = "[%s]" % e if ":" in e else e

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2


def out(line):
    print(line, flush=True)


def connect(session=None, lport=0):
    raw = socket.socket(socket.AF_INET6 if ":" in e else socket.AF_INET)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    raw.settimeout(10)
    raw.bind((src, lport))
    raw.connect((e, port))
    s = ctx.wrap_socket(raw, server_hostname=e, session=session)
    cn = dict(x[0] for x in s.getpeercert()["subject"]).get("commonName", "?")
    out("cert " + cn)
    out("resumed " + ("yes" if s.session_reused else "no"))
    return s


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def message(self):
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode(errors="replace")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() in ("content-length", "l"):
                        length = int(value.strip())
                total = end + 4 + length
                if len(self.buf) >= total:
                    msg = self.buf[:total].decode(errors="replace")
                    self.buf = self.buf[total:]
                    return msg
            data = self.s.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data


def register(s, r, cseq):
    lport = s.getsockname()[1]
    branch = "z9hG4bK-%08x" % random.getrandbits(32)
    msg = ("REGISTER sips:%s SIP/2.0\r\n"
           "Via: SIP/2.0/TLS %s:%d;branch=%s;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sips:%s@%s>;tag=t%d\r\n"
           "To: <sips:%s@%s>\r\n"
           "Call-ID: reg-%s-%d@%s\r\n"
           "CSeq: %d REGISTER\r\n"
           "Contact: <sips:%s@%s:%d>\r\n"
           "Expires: 300\r\n"
           "Content-Length: 0\r\n\r\n") % (e_uri, src_uri, lport, branch, user, e_uri, lport, user, e_uri,
                                            user, lport, src, cseq, user, src_uri, lport)
    s.sendall(msg.encode())
    while True:
        m = r.message()
        if m.startswith("SIP/2.0 ") and "REGISTER" in m.split("CSeq:", 1)[-1].split("\r\n")[0]:
            code = int(m.split()[1])
            if code >= 200:
                out("status %d" % code)
                return code
        elif not m.startswith("SIP/2.0"):
            answer(s, m)


def answer(s, m):
    """200 to an INVITE or a BYE (an ACK needs nothing)."""
    lines = m.split("\r\n")
    method = lines[0].split()[0]
    if method not in ("INVITE", "BYE"):
        return
    keep = [l for l in lines[1:] if l.split(":")[0].strip().lower() in
            ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq", "record-route")]
    keep = [l + (";tag=tls-callee" if l.lower().startswith(("to:", "t:")) and "tag=" not in l else "")
            for l in keep]
    lport = s.getsockname()[1]
    resp = ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) +
            "\r\nContact: <sips:%s@%s:%d>\r\nContent-Length: 0\r\n\r\n" % (user, src_uri, lport))
    s.sendall(resp.encode())
    if method == "BYE":
        out("invite-answered")


s = connect()
r = Reader(s)
register(s, r, 1)
if resume:
    # TLS 1.3: the ticket came after the handshake, with the answer
    sess = s.session
    s.close()
    s = connect(sess)
    r = Reader(s)
    register(s, r, 2)
if hold:
    s.settimeout(0.2)
    cseq, live = 3, True
    while not os.path.exists(hold):
        if again and os.path.exists(again):
            os.unlink(again)
            sess, lport = s.session, s.getsockname()[1]
            # an abortive close (no TIME_WAIT): the new connection comes
            # from the same port, as a phone with a fixed local port does
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            s = connect(sess, lport)
            r = Reader(s)
            register(s, r, cseq)
            cseq, live = cseq + 1, True
            s.settimeout(0.2)
        if not live:
            time.sleep(0.2)
            continue
        try:
            m = r.message()
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (EOFError, OSError):
            out("closed")
            live = False
            continue
        if not m.startswith("SIP/2.0"):
            answer(s, m)
    s.settimeout(10)
    register(s, r, cseq)
s.close()
