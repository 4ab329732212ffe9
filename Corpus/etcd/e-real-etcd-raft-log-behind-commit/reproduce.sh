#!/bin/bash
# 3-member etcd 3.4.23 cluster on 127.0.0.1; m3's data dir replaced by an older copy of itself (taken before 200 more writes) while the leader still remembers m3's newer log position.
set -u
BASE=/tmp/etcd-helper/e-real-etcd-raft-log-behind-commit
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
start_member m1 new; sleep 1; start_member m2 new; sleep 1; start_member m3 new; sleep 4
stop_member m3; cp -a $BASE/m3 $BASE/m3.old; start_member m3 existing; sleep 3
for i in $(seq 1 200); do echo "put k$i v$i"; done | ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 txn >/dev/null 2>&1
for i in $(seq 1 200); do ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 put k$i v$i >/dev/null; done
sleep 1
kill -9 $(cat $BASE/m3.pid); rm -rf $BASE/m3; mv $BASE/m3.old $BASE/m3
: > $BASE/m3.log
start_member m3 existing; sleep 6
stop_member m3; stop_member m2; stop_member m1
