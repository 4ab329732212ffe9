#!/bin/bash
# etcdctl 3.4.23 'snapshot restore' of a member's bbolt file copied from member/snap/db instead of a snapshot taken with 'etcdctl snapshot save'.
set -u
BASE=/tmp/etcd-helper/e-real-etcdctl-restore-copied-db
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
INITIAL=m1=http://127.0.0.1:12380 start_member m1 new; sleep 3
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 put foo bar >/dev/null
stop_member m1
cp $BASE/m1/member/snap/db $BASE/copied.db
ETCDCTL_API=3 etcdctl snapshot restore $BASE/copied.db --data-dir $BASE/restored --name m1 --initial-cluster m1=http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 >$BASE/etcdctl.log 2>&1
echo "exit status $?" >> $BASE/rc
