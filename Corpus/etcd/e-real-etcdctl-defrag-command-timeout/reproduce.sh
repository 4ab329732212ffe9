#!/bin/bash
# single-member etcd 3.4.23 on 127.0.0.1 with 200 keys; 'etcdctl defrag --command-timeout=1ms', a client timeout shorter than the defragmentation takes.
set -u
BASE=/tmp/etcd-helper/e-real-etcdctl-defrag-command-timeout
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
INITIAL=m1=http://127.0.0.1:12380 start_member m1 new; sleep 3
for i in $(seq 1 100); do echo "put key$i value$i"; done | ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 txn >/dev/null 2>&1
for i in $(seq 1 200); do ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 put key$i value$i >/dev/null; done
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 --command-timeout=1ms defrag >$BASE/etcdctl.log 2>&1
sleep 2
stop_member m1
