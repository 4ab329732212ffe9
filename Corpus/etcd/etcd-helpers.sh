#!/bin/bash
# Sourced by the e-real-*/reproduce.sh scripts: a 3-member etcd 3.4 cluster on 127.0.0.1 only,
# data and logs under $BASE (set by the script, below /tmp/etcd-helper/).
CLUSTER="m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380"
port() { case $1 in m1) echo 1;; m2) echo 2;; m3) echo 3;; m4) echo 4;; esac; }
start_member() { # name state [extra flags...]
  local n=$1 st=$2; shift 2; local p=$(port $n)
  etcd --name $n --data-dir $BASE/$n --listen-client-urls http://127.0.0.1:${p}2379 \
    --advertise-client-urls http://127.0.0.1:${p}2379 --listen-peer-urls http://127.0.0.1:${p}2380 \
    --initial-advertise-peer-urls http://127.0.0.1:${p}2380 --initial-cluster ${INITIAL:-$CLUSTER} \
    --initial-cluster-token helper-cluster --initial-cluster-state $st "$@" >>$BASE/$n.log 2>&1 &
  echo $! > $BASE/$n.pid
}
stop_member() { local n=$1; [ -f $BASE/$n.pid ] && kill $(cat $BASE/$n.pid) 2>/dev/null; sleep 1; rm -f $BASE/$n.pid; }
