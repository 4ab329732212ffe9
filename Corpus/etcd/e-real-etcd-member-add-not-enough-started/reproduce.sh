#!/bin/bash
# 3-member etcd 3.4.23 cluster on 127.0.0.1, m3 stopped, then 'etcdctl member add m4': adding a 4th member with only 2 started would break quorum.
set -u
BASE=/tmp/etcd-helper/e-real-etcd-member-add-not-enough-started
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
start_member m1 new; sleep 1; start_member m2 new; sleep 1; start_member m3 new; sleep 4
stop_member m3; sleep 3
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 member add m4 --peer-urls=http://127.0.0.1:42380 >$BASE/etcdctl.log 2>&1
sleep 1
stop_member m2; stop_member m1
