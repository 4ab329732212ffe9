#!/bin/bash
# single-member etcd 3.4.23 on 127.0.0.1 serving clients over TLS with --client-cert-auth; its server certificate has extendedKeyUsage=serverAuth only (no clientAuth).
set -u
BASE=/tmp/etcd-helper/e-real-etcd-server-cert-no-client-auth
rm -rf $BASE; mkdir -p $BASE
. "$(dirname "$0")/../etcd-helpers.sh"
cd $BASE
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 -subj "/CN=helper-etcd-ca" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=m1" 2>/dev/null
printf "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 30 -extfile server.ext 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=client" 2>/dev/null
printf "extendedKeyUsage=clientAuth\n" > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 30 -extfile client.ext 2>/dev/null
cd - >/dev/null
TLS="--cert-file $BASE/server.crt --key-file $BASE/server.key --trusted-ca-file $BASE/ca.crt --client-cert-auth"
start_tls() { etcd --name m1 --data-dir $BASE/m1 --listen-client-urls https://127.0.0.1:12379 --advertise-client-urls https://127.0.0.1:12379 --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 --initial-cluster m1=http://127.0.0.1:12380 --initial-cluster-state new $TLS "$@" >>$BASE/m1.log 2>&1 & echo $! > $BASE/m1.pid; }

start_tls; sleep 4
ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:12379 --cacert $BASE/ca.crt --cert $BASE/client.crt --key $BASE/client.key put foo bar >$BASE/etcdctl.log 2>&1
sleep 2
stop_member m1
