# Process and clean-up helpers shared by vsperf.sh and vmm_boot.sh (sourced; not a script).
#
# The caller sets SCRIPT (its name, for messages) and may append to PIDS (processes it started,
# oldest first, usually `timeout` wrappers) and set RUNDIR (a private directory that is removed),
# PFX (its DPDK file prefixes; /var/run/dpdk/PFX-* are removed), HP_ORIG (nr_hugepages to restore),
# HP_MOUNTED (a hugetlbfs mount point it mounted: unmounted).
# cleanup() stops what is left newest first, removes RUNDIR and the DPDK runtime directories of
# PFX, and hugepage files named PFX* that appeared since HUGE_BEFORE was taken.

PIDS=()
RUNDIR=""
HP_ORIG=""
HP_MOUNTED=""
CLEANED=""
DPDK_RUN=/var/run/dpdk
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

die() { echo "$SCRIPT: $*" >&2; exit 2; }

alive() {  # pid: running and not a zombie
  local st
  [ -r "/proc/$1/stat" ] || return 1
  read -r st < "/proc/$1/stat" 2>/dev/null || return 1
  st=${st##*) }; st=${st%% *}
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# stop_proc PID SIGNAL GRACE_S: signal a process we started (a timeout wrapper forwards the
# signal to its command), wait for it and its children; SIGKILL what is left after GRACE_S.
stop_proc() {
  local pid=$1 sig=$2 grace=$3 kids i k left
  if alive "$pid"; then
    kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')
    kill -s "$sig" "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
      left=""
      for k in $pid $kids; do alive "$k" && left=1; done
      [ -z "$left" ] && break
      sleep 0.1
    done
    for k in $pid $kids; do
      if alive "$k"; then
        echo "  (pid $k did not stop on SIG$sig within ${grace}s: SIGKILL)" >&2
        kill -KILL "$k" 2>/dev/null
      fi
    done
  fi
  wait "$pid" 2>/dev/null
  local keep=() p
  for p in ${PIDS[@]+"${PIDS[@]}"}; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=(${keep[@]+"${keep[@]}"})
  return 0
}

huge_mount() { awk '$3 == "hugetlbfs" {print $2; exit}' /proc/mounts; }
meminfo() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
list_dir() { ls -A "$1" 2>/dev/null | sort; }

# wait_until TIMEOUT_S PID CMD...: poll CMD every 0.1 s; fail when PID dies or time runs out.
wait_until() {
  local limit=$1 pid=$2 i
  shift 2
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    [ -n "$pid" ] && ! alive "$pid" && return 1
    sleep 0.1
  done
  return 1
}
have_sockets() { local s; for s in "$@"; do [ -S "$s" ] || return 1; done; }
log_has() { grep -aqi -- "$2" "$1" 2>/dev/null; }
# DPDK/OVS/VM processes that are not ours (someone else's experiment: noisy figures)
count_others() { pgrep -c -f '(^|/)(dpdk-testpmd|ovs-vswitchd|nfv-switch|nfv-vmm|nfv-l2fwd|nfv-gen|qemu-system)' 2>/dev/null || true; }

remove_dpdk_rundirs() {  # only the runtime directories of our own file prefixes
  local d
  [ -n "${PFX:-}" ] || return 0
  for d in "$DPDK_RUN"/"$PFX"-*; do [ -d "$d" ] && rm -rf -- "$d"; done
  if [ -n "$RUNDIR" ] && [ -f "$RUNDIR/switch-prefixes" ]; then
    for d in "$DPDK_RUN"/nfv-switch-*; do
      [ -d "$d" ] && grep -qxF "${d##*/}" "$RUNDIR/switch-prefixes" && rm -rf -- "$d"
    done
  fi
  return 0
}

cleanup() {
  [ -n "$CLEANED" ] && return 0
  CLEANED=1
  trap '' INT TERM HUP
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_proc "${PIDS[i]}" TERM 10; done
  remove_dpdk_rundirs
  [ -n "$RUNDIR" ] && rm -rf -- "$RUNDIR"
  local hm
  hm=$(huge_mount)
  if [ -n "$hm" ] && [ -n "${HUGE_BEFORE+x}" ]; then
    local now f
    now=$(list_dir "$hm")
    for f in $(comm -13 <(echo "$HUGE_BEFORE") <(echo "$now")); do
      case $f in
        "${PFX:-none}"*) rm -f -- "$hm/$f"; echo "removed hugepage file $hm/$f" >&2 ;;
        *) echo "note: $hm/$f appeared during the run (not ours)" >&2 ;;
      esac
    done
  fi
  if [ -n "$HP_ORIG" ]; then
    echo "$HP_ORIG" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  fi
  [ -n "$HP_MOUNTED" ] && umount "$HP_MOUNTED" 2>/dev/null
  return 0
}
on_signal() { echo >&4; echo "$SCRIPT: interrupted, stopping everything" >&4; cleanup 2>&4; exit 130; }
exec 4>&2   # the terminal's stderr, also while a function's output goes to a log
trap on_signal INT TERM HUP
trap cleanup EXIT

# reserve_hugepages MB: make sure MB of 2 MiB hugepages are free (raise nr_hugepages; restored at the end)
reserve_hugepages() {
  local need_kb=$(( $1 * 1024 )) page_kb free_kb want hm
  hm=$(huge_mount)
  [ -n "$hm" ] || die "no hugetlbfs mounted (tools/setup.sh mounts /dev/hugepages)"
  HUGE_BEFORE=$(list_dir "$hm")
  page_kb=$(meminfo Hugepagesize)
  free_kb=$(( $(meminfo HugePages_Free) * page_kb ))
  if (( free_kb < need_kb )); then
    HP_ORIG=$(cat /proc/sys/vm/nr_hugepages)
    want=$(( HP_ORIG + (need_kb - free_kb + page_kb - 1) / page_kb ))
    echo "$want" > /proc/sys/vm/nr_hugepages
    free_kb=$(( $(meminfo HugePages_Free) * page_kb ))
    (( free_kb >= need_kb )) || die "only $((free_kb / 1024)) MB of hugepages free after asking for $want pages; need $1 MB"
  fi
}

# JSON-RPC: rpc SOCKET METHOD... -> {"METHOD": result, ...} on stdout
rpc() {
  "$PY" - "$@" <<'PY'
import json, socket, sys
path, methods = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(path)
for i, m in enumerate(methods):
    s.sendall((json.dumps({"jsonrpc": "2.0", "id": i, "method": m}) + "\n").encode())
buf, answers = b"", {}
while len(answers) < len(methods):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        if line.strip():
            a = json.loads(line)
            answers[a.get("id")] = a
out = {}
for i, m in enumerate(methods):
    a = answers.get(i)
    if a is None or "error" in a:
        sys.exit(f"rpc {m}: {a.get('error') if a else 'no answer'}")
    out[m] = a["result"]
print(json.dumps(out))
PY
}

# ---- OVS-DPDK, private to one round (vswitch.sh, vsperf.sh) -------------------------------------
# The caller defines track PID (remember a process of the switch under test), SW_PIDS, LIMIT (upper
# bound of a process's life), OVS_SCHEMA, OVS_VSWITCHD and PFX.
vsctl() { local rd=$1; shift; ovs-vsctl --db="unix:$rd/db.sock" --timeout=30 "$@"; }
# ovs_up RUNDIR: ovsdb-server and ovs-vswitchd (DPDK lcore CPU 0, PMD CPU 1, 1 GB, --huge-unlink)
# with every file in RUNDIR and bridge br0 (netdev datapath); sets OVS_VPID.
ovs_up() {
  local rd=$1
  ovsdb-tool create "$rd/conf.db" "$OVS_SCHEMA" || return 1
  OVS_RUNDIR=$rd OVS_LOGDIR=$rd OVS_DBDIR=$rd timeout -k 5 "$LIMIT" ovsdb-server "$rd/conf.db" --remote="punix:$rd/db.sock" \
    --pidfile="$rd/ovsdb.pid" --unixctl="$rd/ovsdb.ctl" --log-file="$rd/ovsdb.log" </dev/null > "$rd/ovsdb.out" 2>&1 &
  local dbpid=$!
  track "$dbpid"
  wait_until 20 "$dbpid" have_sockets "$rd/db.sock" || return 1
  vsctl "$rd" --no-wait init || return 1
  vsctl "$rd" --no-wait set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-lcore-mask=0x1 \
    other_config:pmd-cpu-mask=0x2 other_config:dpdk-socket-mem=1024 \
    other_config:dpdk-extra="--no-pci --file-prefix=$PFX-ovs --huge-unlink" || return 1
  OVS_RUNDIR=$rd OVS_LOGDIR=$rd OVS_DBDIR=$rd timeout -k 5 "$LIMIT" "$OVS_VSWITCHD" "unix:$rd/db.sock" --pidfile="$rd/vsd.pid" \
    --unixctl="$rd/vswitchd.ctl" --log-file="$rd/vsd.log" </dev/null > "$rd/vsd.out" 2>&1 &
  OVS_VPID=$!
  SW_PIDS=("$OVS_VPID" "${SW_PIDS[@]}")   # stop ovs-vswitchd first, then the database
  PIDS+=("$OVS_VPID")
  vsctl "$rd" add-br br0 -- set bridge br0 datapath_type=netdev
}
