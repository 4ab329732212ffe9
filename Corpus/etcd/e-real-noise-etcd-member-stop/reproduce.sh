#!/bin/bash
# Healthy start of a new 3-member etcd 3.4.23 cluster on 127.0.0.1 (members started 1 s apart), a write,
# then SIGTERM to m3, m2, m1 in turn. etcd.log is m3's log (the first member stopped).
set -u
BASE=/tmp/etcd-helper/healthy3
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
start_member m1 new; sleep 1; start_member m2 new; sleep 1; start_member m3 new; sleep 4
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 put foo bar
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379 endpoint health
sleep 2
stop_member m3; stop_member m2; stop_member m1
