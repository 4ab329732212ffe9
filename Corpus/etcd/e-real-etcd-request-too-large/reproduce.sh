#!/bin/bash
# single-member etcd 3.4.23 on 127.0.0.1 with the default --max-request-bytes (1.5 MiB); 'etcdctl put' of a 1.7 MB value.
set -u
BASE=/tmp/etcd-helper/e-real-etcd-request-too-large
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
INITIAL=m1=http://127.0.0.1:12380 start_member m1 new; sleep 3
head -c 1700000 /dev/zero | tr '\0' 'x' > $BASE/value
ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 put big < $BASE/value >$BASE/etcdctl.log 2>&1
stop_member m1
