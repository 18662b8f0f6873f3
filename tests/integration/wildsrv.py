#!/usr/bin/env python3
"""tests/integration/wildsrv.py: a wildcard server and its client, as
ordinary programs write them (socket.create_server), for wildcard.sh.

  wildsrv.py serve TAG tcp|udp 4|6|dual PORT [pktinfo]
      Listen on the wildcard ("" or "::"); print "ready PORT" once bound.
      TCP: each connection gets "TAG local=ADDR:PORT". UDP: each datagram
      gets the same line back, sent from the address it came to when
      pktinfo is given (IP_PKTINFO / IPV6_PKTINFO), else from the default.
  wildsrv.py ask tcp|udp HOST PORT
      One request; prints the answer and "peer=ADDR:PORT" (getpeername for
      TCP, the reply's source for UDP), or "err ERRNO-NAME".
  wildsrv.py ftp
      Active-FTP style in one slice: a control server on the wildcard, a
      client on 127.0.0.1, a data listener on the wildcard (port 0), and the
      server connects to the control connection's local address and the
      data port. Prints "ok data via ADDR".
"""
import errno
import socket
import struct
import sys

IP_PKTINFO = 8  # <linux/in.h>; Python 3.11 lacks the name


def fmt(sa):
    host, port = sa[0], sa[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def serve(tag, proto, fam, port, pktinfo):
    if proto == "tcp":
        if fam == "4":
            s = socket.create_server(("", port))
        else:
            s = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=(fam == "dual"))
        print("ready", s.getsockname()[1], flush=True)
        while True:
            c, _ = s.accept()
            with c:
                c.sendall(f"{tag} local={fmt(c.getsockname())}\n".encode())
    af = socket.AF_INET if fam == "4" else socket.AF_INET6
    s = socket.socket(af, socket.SOCK_DGRAM)
    if af == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if fam == "dual" else 1)
    s.bind(("", port))
    if pktinfo:
        if af == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    print("ready", s.getsockname()[1], flush=True)
    while True:
        data, anc, _, peer = s.recvmsg(512, 256)
        cmsg = []
        for level, kind, val in anc:
            if level == socket.IPPROTO_IP and kind == IP_PKTINFO:
                ifindex, _spec, dst = struct.unpack("i4s4s", val[:12])
                cmsg = [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("i4s4s", 0, dst, bytes(4)))]
                here = socket.inet_ntop(socket.AF_INET, dst)
            elif level == socket.IPPROTO_IPV6 and kind == socket.IPV6_PKTINFO:
                dst = val[:16]
                cmsg = [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, dst + struct.pack("I", 0))]
                here = socket.inet_ntop(socket.AF_INET6, dst)
        line = f"{tag} local={here}" if cmsg else f"{tag} local={fmt(s.getsockname())}"
        s.sendmsg([line.encode() + b"\n"], cmsg, 0, peer)


def ask(proto, host, port):
    af = family_of(host)
    try:
        if proto == "tcp":
            with socket.create_connection((host, port), timeout=2) as c:
                answer = c.makefile().readline().strip()
                print(answer, "peer=" + fmt(c.getpeername()))
            return 0
        with socket.socket(af, socket.SOCK_DGRAM) as c:
            c.settimeout(2)
            c.sendto(b"hello", (host, port))
            data, peer = c.recvfrom(512)
            print(data.decode().strip(), "peer=" + fmt(peer))
        return 0
    except socket.timeout:
        print("err ETIMEDOUT")
    except OSError as e:
        print("err " + errno.errorcode.get(e.errno, str(e.errno)))
    return 1


def ftp():
    try:
        return ftp_steps()
    except OSError as e:
        print("err " + errno.errorcode.get(e.errno, str(e.errno)))
        return 1


def ftp_steps():
    ctl = socket.create_server(("", 0))
    cli = socket.create_connection(("127.0.0.1", ctl.getsockname()[1]), timeout=2)
    srv, _ = ctl.accept()
    data = socket.create_server(("", 0))  # the client's data listener
    host = cli.getsockname()[0]  # what active FTP sends in PORT
    srv_data = socket.create_connection((host, data.getsockname()[1]), timeout=2)
    conn, _ = data.accept()
    srv_data.sendall(b"x")
    ok = conn.recv(1) == b"x"
    print(("ok data via " if ok else "err data via ") + host)
    return 0 if ok else 1


def main(argv):
    if len(argv) >= 6 and argv[1] == "serve":
        return serve(argv[2], argv[3], argv[4], int(argv[5]), len(argv) > 6)
    if len(argv) == 5 and argv[1] == "ask":
        return ask(argv[2], argv[3], int(argv[4]))
    if len(argv) == 2 and argv[1] == "ftp":
        return ftp()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
