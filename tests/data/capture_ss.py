"""How tests/data/ss-snapshots.log was captured (run as root; not part of the test suite).

    unshare -n sh -c 'ip link set lo up && python3 tests/data/capture_ss.py tests/data/ss-snapshots.log'

In a private network namespace (loopback only), a listener on 127.0.0.1:8080 and 40 client
connections in four rounds of ten, with five timestamped ``ss -tanH`` snapshots, as
``while sleep 1; do date +%s.%N; ss -tanH; done`` takes them: per round, a third of the
connections close from the client at once (TIME-WAIT here, between two snapshots), a third ask the
server to close first (the server holds TIME-WAIT; the client passes CLOSE-WAIT) and a third stay
open into the next round, the last of them to the end.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

PORT = 8080
ROUNDS, PER_ROUND = 4, 10


def handle(conn: socket.socket) -> None:
    """Close first when asked ('s'); otherwise close once the client has."""
    with conn:
        if conn.recv(1) == b"s":
            time.sleep(0.05)
            return
        while conn.recv(64):
            pass


def serve(stop: threading.Event) -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", PORT))
        listener.listen(128)
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()


def snapshot(out: list[str]) -> None:
    out.append(f"{time.time():.9f}\n")
    out.append(subprocess.run(["ss", "-tanH"], capture_output=True, text=True, check=True).stdout)


def main(path: str) -> None:
    stop = threading.Event()
    threading.Thread(target=serve, args=(stop,), daemon=True).start()
    time.sleep(0.2)
    out: list[str] = []
    snapshot(out)
    kept: list[socket.socket] = []
    for _ in range(ROUNDS):
        for old in kept:
            old.close()
        kept = []
        for i in range(PER_ROUND):
            conn = socket.create_connection(("127.0.0.1", PORT))
            if i % 3 == 0:
                conn.send(b"c")
                conn.close()
            elif i % 3 == 1:
                conn.send(b"s")
                conn.recv(1)  # the server's FIN
                conn.close()
            else:
                conn.send(b"k")
                kept.append(conn)
            time.sleep(0.02)
        time.sleep(0.2)
        snapshot(out)
    stop.set()
    with open(path, "w") as fh:
        fh.writelines(out)


if __name__ == "__main__":
    main(sys.argv[1])
