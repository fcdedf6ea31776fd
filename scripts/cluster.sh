#!/usr/bin/env bash
# A real, local Kubernetes control plane: etcd, kube-apiserver and kube-controller-manager, built from the
# official Go modules pinned in tools/local-cluster/go.mod and started on 127.0.0.1. There is no kubelet and no
# scheduler, so pods never run; objects, RBAC, ServiceAccount tokens, TokenRequest and reviews are all real.
#
#   scripts/cluster.sh build            build the binaries (once per pinned version; cached)
#   scripts/cluster.sh up     [DIR]     start (idempotent), wait until ready, write DIR/admin.kubeconfig; install
#                                       Berth's access (deploy/base/rbac.yaml, admission.yaml) and write DIR/berth.kubeconfig, a
#                                       token of Berth's own least-privilege ServiceAccount
#   scripts/cluster.sh status [DIR]     what runs, and whether the API server is ready
#   scripts/cluster.sh env    [DIR]     `export KUBECONFIG=...` for this cluster, for eval
#   scripts/cluster.sh bin              the folder of the binaries (kubectl and the control plane's)
#   scripts/cluster.sh down   [DIR]     stop exactly the processes `up` started; data stays in DIR
#   scripts/cluster.sh wipe   [DIR]     down, then delete DIR
#
# DIR holds everything of one cluster (certificates, keys, etcd data, logs, pid files); default
# data/cluster in the repository. Ports are picked free at `up`, so several clusters can run side by side.
set -euo pipefail
source "$(dirname "$0")/env.sh"

MODULE_DIR="$REPO_ROOT/tools/local-cluster"
K8S_VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }
  $1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' "$MODULE_DIR/go.mod")"
[ -n "$K8S_VERSION" ] || { echo "cannot read the pinned k8s.io/kubernetes version from $MODULE_DIR/go.mod" >&2; exit 1; }
# Keyed by the pinned version and the exact module set: any change to go.mod/go.sum builds anew, side by side.
PIN_HASH="$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" | sha256sum | cut -c1-12)"
BIN_DIR="$CACHE_DIR/kubernetes-$K8S_VERSION-$PIN_HASH/bin"
COMPONENTS=(etcd kube-apiserver kube-controller-manager)

build() {
  if [ -x "$BIN_DIR/kubectl" ] && [ -x "$BIN_DIR/etcd" ] && [ -x "$BIN_DIR/kube-apiserver" ] &&
    [ -x "$BIN_DIR/kube-controller-manager" ]; then
    return 0
  fi
  log "building Kubernetes $K8S_VERSION from Go modules (once per version; takes minutes)"
  local minor="${K8S_VERSION#v1.}"
  minor="${minor%%.*}"
  # What `kubectl version` and the API server's /version report; without it they say v0.0.0-master.
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  local partial="$BIN_DIR.partial"
  mkdir -p "$partial"
  local binary
  # One after another: linking kube-apiserver alone takes gigabytes of memory.
  for binary in kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
    kubectl=k8s.io/kubernetes/cmd/kubectl \
    etcd=go.etcd.io/etcd/server/v3; do
    log "go build ${binary#*=}"
    (cd "$MODULE_DIR" && go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$partial/${binary%%=*}" "${binary#*=}")
  done
  rm -rf "$BIN_DIR" && mv "$partial" "$BIN_DIR"
}

cluster_dir() {
  local dir="${1:-$REPO_ROOT/data/cluster}"
  mkdir -p "$dir"
  (cd "$dir" && pwd)
}

# True if the pid file names a live process running our binary (guards against a reused pid).
running() {
  local dir="$1" name="$2" pid
  [ -f "$dir/run/$name.pid" ] || return 1
  pid="$(cat "$dir/run/$name.pid")"
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "/$name "
}

certificates() {
  local pki="$1/pki"
  [ -f "$pki/admin.crt" ] && return 0
  mkdir -p "$pki"
  chmod 700 "$pki"
  (
    cd "$pki"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.crt -days 3650 -subj "/CN=berth-local-cluster-ca" \
      2>/dev/null
    # sign NAME SUBJECT [EXTENSIONS]: a key and a certificate signed by the CA.
    sign() {
      openssl req "${ec[@]}" -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
      printf '%s\n' "${3:-extendedKeyUsage=clientAuth}" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
        -extfile "$1.ext" -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    sign apiserver "/CN=kube-apiserver" \
      "$(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1\nextendedKeyUsage=serverAuth')"
    # system:masters is the group the API server always authorizes: the admin of this local cluster.
    sign admin "/O=system:masters/CN=berth-local-admin"
    # The user the controller manager's bootstrap RBAC roles are bound to.
    sign controller-manager "/CN=system:kube-controller-manager"
    # ServiceAccount tokens: signed with the private key, verified with the public one.
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  )
}

# kubeconfig DIR USER SERVER: a kubeconfig with the user's client certificate embedded.
kubeconfig() {
  local dir="$1" user="$2" server="$3" b64="base64 -w0"
  cat <<EOF
apiVersion: v1
kind: Config
clusters:
- name: berth-local
  cluster:
    server: $server
    certificate-authority-data: $($b64 <"$dir/pki/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $($b64 <"$dir/pki/$user.crt")
    client-key-data: $($b64 <"$dir/pki/$user.key")
contexts:
- name: berth-local
  context:
    cluster: berth-local
    user: $user
current-context: berth-local
EOF
}

# start DIR NAME ARGS...: runs a component in the background with its log and pid file. In a session of its
# own, so a Ctrl-C meant for the caller (say `make run`) does not kill it mid-write; `down` stops it.
start() {
  local dir="$1" name="$2"
  shift 2
  mkdir -p "$dir/run" "$dir/logs"
  setsid "$BIN_DIR/$name" "$@" >>"$dir/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/run/$name.pid"
}

# wait_for DIR WHAT SECONDS COMMAND...: retries COMMAND until it succeeds; fails with the log of a component
# that exited meanwhile, or after SECONDS.
wait_for() {
  local dir="$1" what="$2" seconds="$3"
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    local name
    for name in "${COMPONENTS[@]}"; do
      if [ -f "$dir/run/$name.pid" ] && ! running "$dir" "$name"; then
        tail -n 30 "$dir/logs/$name.log" >&2
        log "$name exited while waiting for $what"
        return 1
      fi
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${seconds}s waiting for $what (logs in $dir/logs)"
      return 1
    fi
    sleep 0.2
  done
}

api_ready() {
  local dir="$1"
  curl -fsS --cacert "$dir/pki/ca.crt" --cert "$dir/pki/admin.crt" --key "$dir/pki/admin.key" \
    "$(cat "$dir/run/server")/readyz"
}

up() {
  local dir
  dir="$(cluster_dir "${1:-}")"
  if running "$dir" kube-apiserver && api_ready "$dir" >/dev/null 2>&1; then
    log "local cluster already up: $(cat "$dir/run/server")"
    install_berth "$dir"
    return 0
  fi
  down "$dir" >/dev/null
  build
  certificates "$dir"
  local started=$SECONDS
  local etcd_port peer_port api_port
  etcd_port="$(free_port)"
  peer_port="$(free_port)"
  api_port="$(free_port)"
  local server="https://127.0.0.1:$api_port"
  mkdir -p "$dir/run"
  echo "$server" >"$dir/run/server"

  start "$dir" etcd --name local --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "local=http://127.0.0.1:$peer_port" --listen-metrics-urls "" \
    --unsafe-no-fsync --log-level warn
  wait_for "$dir" etcd 30 curl -fsS "http://127.0.0.1:$etcd_port/health"

  local pki="$dir/pki"
  start "$dir" kube-apiserver \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
    --client-ca-file="$pki/ca.crt" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --endpoint-reconciler-type=none \
    --cert-dir="$dir/run/apiserver-certs" \
    --profiling=false
  wait_for "$dir" "the API server's /readyz" 120 api_ready "$dir"

  kubeconfig "$dir" admin "$server" >"$dir/admin.kubeconfig"
  kubeconfig "$dir" controller-manager "$server" >"$dir/run/controller-manager.kubeconfig"
  chmod 600 "$dir/admin.kubeconfig" "$dir/run/controller-manager.kubeconfig"

  # (--endpoint-reconciler-type=none above: the `kubernetes` Service's endpoints may not be a loopback address,
  # and nothing here routes to Services anyway.)
  # --secure-port=0: the controller manager serves nothing; it only talks to the API server.
  # --use-service-account-credentials: each controller acts as its own ServiceAccount with its bootstrap role,
  # as in kubeadm clusters; the controller manager's own user may do too little for them all.
  start "$dir" kube-controller-manager \
    --kubeconfig="$dir/run/controller-manager.kubeconfig" \
    --secure-port=0 --leader-elect=false \
    --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
    --use-service-account-credentials=true \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key"
  # The controllers work once they publish the cluster CA and create ServiceAccounts in a namespace.
  local kubectl=("$BIN_DIR/kubectl" --kubeconfig "$dir/admin.kubeconfig")
  wait_for "$dir" "the controller manager" 120 \
    "${kubectl[@]}" get configmap/kube-root-ca.crt serviceaccount/default -n default
  install_berth "$dir"
  log "local cluster up in $((SECONDS - started)) s: $server (KUBECONFIG=$dir/admin.kubeconfig)"
}

# install_berth DIR: what a cluster admin does once to install Berth (deploy/base/rbac.yaml: its namespaces,
# ServiceAccount and least-privilege roles; deploy/base/admission.yaml: the admission policy that confines that
# ServiceAccount to the namespaces Berth owns), then DIR/berth.kubeconfig with a token of that ServiceAccount,
# the only credential Berth gets here. Re-run by every `up`, so a changed deploy/base/rbac.yaml takes effect.
install_berth() {
  local dir="$1"
  local kubectl=("$BIN_DIR/kubectl" --kubeconfig "$dir/admin.kubeconfig")
  "${kubectl[@]}" apply --server-side --field-manager=cluster-admin -f "$REPO_ROOT/deploy/base/rbac.yaml" \
    -f "$REPO_ROOT/deploy/base/admission.yaml" >/dev/null
  local token
  token="$("${kubectl[@]}" create token berth -n berth --duration=8760h)"
  (
    umask 077
    cat >"$dir/berth.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: berth-local
  cluster:
    server: $(cat "$dir/run/server")
    certificate-authority-data: $(base64 -w0 <"$dir/pki/ca.crt")
users:
- name: berth
  user:
    token: $token
contexts:
- name: berth-local
  context:
    cluster: berth-local
    user: berth
    namespace: berth
current-context: berth-local
EOF
  )
}

down() {
  local dir
  dir="$(cluster_dir "${1:-}")"
  local name pid
  # Reverse order of start: nothing writes to etcd while it stops.
  for name in kube-controller-manager kube-apiserver etcd; do
    if running "$dir" "$name"; then
      pid="$(cat "$dir/run/$name.pid")"
      kill -TERM "$pid"
      for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      log "stopped $name ($pid)"
    fi
    rm -f "$dir/run/$name.pid"
  done
}

status() {
  local dir
  dir="$(cluster_dir "${1:-}")"
  local name ok=0
  for name in "${COMPONENTS[@]}"; do
    if running "$dir" "$name"; then
      echo "$name: running (pid $(cat "$dir/run/$name.pid"))"
    else
      echo "$name: stopped"
      ok=1
    fi
  done
  if [ -f "$dir/run/server" ] && api_ready "$dir" >/dev/null 2>&1; then
    echo "api server: ready at $(cat "$dir/run/server")"
    echo "kubeconfig: $dir/admin.kubeconfig"
  else
    echo "api server: not ready"
    ok=1
  fi
  return "$ok"
}

case "${1:-}" in
  build) build ;;
  up) up "${2:-}" ;;
  down) down "${2:-}" ;;
  status) status "${2:-}" ;;
  env)
    dir="$(cluster_dir "${2:-}")"
    echo "export KUBECONFIG=$dir/admin.kubeconfig"
    echo "export BERTH_CLUSTER__KUBECONFIG=$dir/berth.kubeconfig"
    echo "export PATH=$BIN_DIR:\$PATH"
    ;;
  bin) echo "$BIN_DIR" ;;
  wipe)
    dir="$(cluster_dir "${2:-}")"
    down "$dir"
    rm -rf "$dir"
    ;;
  *)
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
