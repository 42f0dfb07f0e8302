#!/bin/sh
# Reproduce docs/nat-kernel.md. Root required (apt-get install nftables conntrack). Creates netns
# natp-c/natp-r/natp-s and removes them at exit. Default set ~10 min wall time (mostly sleeping on SYN
# retransmission timers); add q7 explicitly if wanted.
set -e
cd "$(dirname "$0")"
uname -r
exec timeout 1500 nice -n 10 python3 ./probe.py "$@"
