"""tcp_send.py PORT BYTES: send BYTES to 127.0.0.1:PORT, half-close, wait for the peer's EOF.
Prints the elapsed seconds (connect to EOF): the sink only closes after draining everything."""
import socket
import sys
import time

port, total = int(sys.argv[1]), int(sys.argv[2])
chunk = b"\0" * (1 << 20)
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", port), timeout=60)
sent = 0
while sent < total:
    n = min(len(chunk), total - sent)
    s.sendall(chunk[:n] if n < len(chunk) else chunk)
    sent += n
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print(f"{time.monotonic() - t0:.6f}")
