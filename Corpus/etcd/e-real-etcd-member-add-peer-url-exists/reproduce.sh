#!/bin/bash
# single-member etcd 3.4.23 on 127.0.0.1; 'etcdctl member add' with a peer URL that member m1 already uses.
set -u
BASE=/tmp/etcd-helper/e-real-etcd-member-add-peer-url-exists
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
INITIAL=m1=http://127.0.0.1:12380 start_member m1 new; sleep 3
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 member add m2 --peer-urls=http://127.0.0.1:12380 >$BASE/etcdctl.log 2>&1
stop_member m1
