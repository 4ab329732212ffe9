#!/bin/bash
# 3-member etcd 3.4.23 cluster on 127.0.0.1; all members stopped, then only m1 restarted: it cannot reach quorum and cannot publish itself.
set -u
BASE=/tmp/etcd-helper/e-real-etcd-publish-no-quorum
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
start_member m1 new; sleep 1; start_member m2 new; sleep 1; start_member m3 new; sleep 4
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 put foo bar
stop_member m3; stop_member m2; stop_member m1
: > $BASE/m1.log     # keep only the restart in the recorded log
start_member m1 existing; sleep 25
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 --command-timeout=3s put foo bar2 >$BASE/etcdctl.log 2>&1
stop_member m1
