#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: one workload through four paths in the same VM, so that the
# columns of one run compare:
#   veth          the two namespaces' veth pair without a tunnel (ceiling)
#   in-tree       the kernel's wireguard module
#   wg            our module (loaded after `modprobe -r wireguard`)
#   wireguard-go  userspace, both ends
# Rows: iperf3 TCP (1 and 4 flows, both directions), iperf3 UDP at full rate
# with 1,300-byte datagrams (received rate, loss), ping RTT (median, p99),
# handshakes per second against one responder, slab memory per peer and
# per prefix, and prefixes set per second by wg setconf (in-tree and wg
# only); wg's trie alone: prefixes inserted and lookups per second.
#
# Every figure is measured REPS times and the median is reported, with the
# spread.  The repetitions are interleaved (veth, in-tree, wireguard-go, wg,
# then again) so that a change in host load hits every column alike.
#
# Knobs, from the kernel command line (run.sh turns WG_BENCH_REPS=5 into
# wgbench.reps=5, and so on):
#   wgbench.reps=3           repetitions of every figure
#   wgbench.time=4           seconds per iperf3 run (after 1 s left out)
#   wgbench.pings=200        pings per latency run
#   wgbench.initiators=200   initiator devices in the handshake test
#   wgbench.peers=1000       peers added for the memory figures
#   wgbench.prefixes=100000  prefixes added for the memory figures
#   wgbench.profile=0        1: instead of the table, profile TCP 1 flow a->b
#                            through in-tree and wg with perf (cpu-clock
#                            samples of both vCPUs; symbols above 0.3 %);
#                            2: only TCP 1 flow both ways, in-tree and wg,
#                            reps times (a quick comparison);
#                            3: only the ping row, in-tree, wireguard-go
#                            and wg, reps times; 5: profile wg setconf of
#                            the prefixes over the peers (the memory
#                            row's step), in-tree and wg
#
# Output: the table between "BENCH-TABLE-BEGIN" and "BENCH-TABLE-END", and
# every figure as one line "BENCH-JSON {...}"; run.sh copies both out of the
# console into bench-<kernel>.json.
. /selftests/lib.sh

REPS=3 TIME=4 PINGS=200 INITIATORS=200 PEERS=1000 PREFIXES=100000 PROFILE=0
for arg in $(cat /proc/cmdline); do
	case $arg in
	wgbench.reps=[0-9]*) REPS=${arg#*=} ;;
	wgbench.time=[0-9]*) TIME=${arg#*=} ;;
	wgbench.pings=[0-9]*) PINGS=${arg#*=} ;;
	wgbench.initiators=[0-9]*) INITIATORS=${arg#*=} ;;
	wgbench.peers=[0-9]*) PEERS=${arg#*=} ;;
	wgbench.prefixes=[0-9]*) PREFIXES=${arg#*=} ;;
	wgbench.profile=[0-9]*) PROFILE=${arg#*=} ;;
	esac
done

B=/tmp/bench			# keys, configurations, results
RES=$B/results			# lines "COLUMN ROW VALUE"
PING=/usr/bin/ping		# iputils (busybox ping has no -i below 1 s)
HS_PORT=51820
HS_ROUNDS=3			# handshake measurements per run and column

# --- helpers ------------------------------------------------------------

# record COLUMN ROW VALUE: keep one measurement (numbers only).
record()
{
	case $3 in
	'' | *[!0-9.e+-]*) echo "$1 $2: no value"; return 1 ;;
	esac
	echo "$1 $2 $3" >>"$RES"
}

now() { echo "$EPOCHREALTIME"; }

# gone PID: the process has exited (a zombie counts).
gone()
{
	[ ! -e "/proc/$1" ] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

# Processes of the current case, stopped when it ends.
track() { echo "$1" >>"$B/pids"; }

bench_cleanup()
{
	local p ns
	if [ -f "$B/pids" ]; then
		for p in $(cat "$B/pids"); do
			kill "$p" 2>/dev/null || true
		done
		for p in $(cat "$B/pids"); do
			wait_for 10 gone "$p" || true
			wait "$p" 2>/dev/null || true
		done
		rm -f "$B/pids"
	fi
	# Links go now, not with the namespace's asynchronous cleanup, so
	# that the module can be unloaded right after.
	for ns in $_case_netns; do
		$IP -n "$ns" -o link show 2>/dev/null |
			awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -vx lo |
			sed 's/^/link del /' | $IP -n "$ns" -force -batch - 2>/dev/null || true
	done
	_case_cleanup
}

# column_load COLUMN: loads the module COLUMN runs on (wireguard-go's
# peers in the handshake test are in-tree devices; veth needs none) and
# sets COL_KIND to the link kind of its kernel devices.
column_load()
{
	COL_KIND=
	case $1 in
	intree|wgo) use_module wireguard; COL_KIND=wireguard ;;
	wg) use_module "$WG_MODULE"; COL_KIND=$WG_KIND ;;
	esac
}

# column_up COLUMN: column_load, and the column's tunnel up (pair_up).
column_up()
{
	column_load "$1"
	pair_up "$1"
}

# go_start NS IFNAME: wireguard-go in the foreground of a tracked process.
go_start()
{
	rm -f "/var/run/wireguard/$2.sock"
	WG_PROCESS_FOREGROUND=1 $IP netns exec "$1" wireguard-go "$2" \
		>"$B/$2.log" 2>&1 </dev/null &
	track $!
	wait_for 30 test -S "/var/run/wireguard/$2.sock" || {
		cat "$B/$2.log"
		return 1
	}
}

# --- the two-namespace path: ba (client) and bb (server) --------------------

# pair_up COLUMN: veth between ba and bb, then the tunnel of COLUMN; sets DST,
# the server's address.
pair_up()
{
	local col=$1 da db kind
	ns_add ba bb
	veth_pair ba va bb vb
	$IP -n ba addr add 192.168.50.1/24 dev va
	$IP -n bb addr add 192.168.50.2/24 dev vb
	if [ "$col" = veth ]; then
		DST=192.168.50.2
		return 0
	fi
	case $col in
	wgo)
		da=wgoa db=wgob
		go_start ba $da
		go_start bb $db ;;
	*)
		da=wga db=wgb kind=wireguard
		[ "$col" = intree ] || kind=$WG_KIND
		$IP -n ba link add $da type $kind
		$IP -n bb link add $db type $kind ;;
	esac
	nsx ba $WG set $da private-key $B/a.key listen-port 51001 \
		peer "$(cat $B/b.pub)" endpoint 192.168.50.2:51002 allowed-ips 10.50.0.2/32
	nsx bb $WG set $db private-key $B/b.key listen-port 51002 \
		peer "$(cat $B/a.pub)" endpoint 192.168.50.1:51001 allowed-ips 10.50.0.1/32
	$IP -n ba addr add 10.50.0.1/24 dev $da
	$IP -n bb addr add 10.50.0.2/24 dev $db
	$IP -n ba link set $da up
	$IP -n bb link set $db up
	DST=10.50.0.2
	wait_for 30 nsx ba $PING -c 1 -W 1 $DST
}

iperf_server()
{
	rm -f "$B/iperf.pid"
	nsx bb iperf3 -s -D -I "$B/iperf.pid" >"$B/iperf.log" 2>&1
	wait_for 10 test -s "$B/iperf.pid"
	track "$(cat "$B/iperf.pid")"
	wait_for 10 tcp_listening 5201 bb
}

# iperf ARGS...: one client run from ba to DST (again if the server was
# still busy with the previous one); prints iperf3's text output.  TCP runs
# pass -O 1 (leave out slow start); UDP must not: with --omit, iperf3 counts
# the omitted datagrams as lost (loss above 100 %).
iperf()
{
	local out _
	for _ in 1 2 3; do
		if out=$(timeout $((TIME + 30)) $IP netns exec ba \
			iperf3 -c "$DST" -t "$TIME" -f m "$@" 2>&1) &&
			grep -q receiver <<<"$out"; then
			printf '%s\n' "$out"
			return 0
		fi
		sleep 1
	done
	echo "iperf3 $* failed: $(tail -n 2 <<<"$out")" >&2
	return 1
}

# mbits: the receiver's rate (the total with several flows).
mbits()
{
	awk '/receiver/ && (!multi || /SUM/) {
		for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1)
	} /^\[SUM\]/ { multi = 1 } END { if (v == "") exit 1; print v }'
}

# rtt COLUMN: PINGS round trips from ba to DST; records the median and the
# nearest-rank p99 and prints them.
rtt()
{
	local col=$1 out v
	out=$(timeout 120 $IP netns exec ba $PING -c "$PINGS" -i 0.01 -W 2 "$DST") || {
		echo "ping failed"
		return 1
	}
	v=$(sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' <<<"$out" | sort -n | awk '
		{ t[NR] = $1 }
		END {
			if (NR == 0) exit 1
			m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			r = int(0.99 * NR); if (r < 0.99 * NR) r++
			print m, t[r], NR
		}')
	# shellcheck disable=SC2086
	set -- $v
	record "$col" lat_p50 "$1" && record "$col" lat_p99 "$2" || return 1
	echo "rtt_p50=$1ms p99=$2ms ($3 of $PINGS answered)"
}

# measure COLUMN: the iperf3 and ping rows of one repetition.
measure()
{
	local col=$1 out v bad=0 line
	iperf_server
	for v in "tcp1_ab -P 1" "tcp1_ba -P 1 -R" "tcp4_ab -P 4" "tcp4_ba -P 4 -R"; do
		v="$v -O 1"
		# shellcheck disable=SC2086
		set -- $v
		if out=$(iperf "${@:2}") && v=$(mbits <<<"$out"); then
			record "$col" "$1" "$v"
			line="$line $1=$v"
		else
			bad=1
		fi
	done
	if out=$(iperf -u -b 0 -l 1300); then
		v=$(awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' <<<"$out")
		record "$col" udp_rx "$v" || bad=1
		v=$(awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i ~ /^\(.*%\)$/) { gsub(/[(%)]/, "", $i); print $i } }' <<<"$out")
		record "$col" udp_loss "$v" || bad=1
		line="$line udp_rx=$(tail -n 2 "$RES" | awk '{ printf "%s%s", s, $3; s = "/loss%=" }')"
	else
		bad=1
	fi
	line="$line $(rtt "$col")" || bad=1
	echo "$col:$line"
	return $bad
}

# --- handshakes per second --------------------------------------------------

# handshakes COLUMN: INITIATORS devices in hsi (in-tree for wireguard-go's
# column, the column's module otherwise), each a peer of one responder in
# hsr, all brought up at once; the rate is INITIATORS over the time until
# the responder has completed a handshake with every one of them.  Bringing
# the initiators up is part of it (each sends its initiation when it comes
# up); the log line gives that part too.  200 initiators take about 0.5 s on
# 2 vCPUs, ten times the polling interval; a hiccup of the host weighs a lot
# in so short a time, so every run measures HS_ROUNDS times (initiators down,
# responder reconfigured, up again) and the row's median is over all rounds.
handshakes()
{
	local col=$1 kind=wireguard i round
	[ "$col" != wg ] || kind=$WG_KIND
	ns_add hsr hsi
	veth_pair hsr hr hsi hi
	$IP -n hsr addr add 192.168.60.1/24 dev hr
	$IP -n hsi addr add 192.168.60.2/24 dev hi
	if [ "$col" = wgo ]; then
		go_start hsr wgor
	else
		$IP -n hsr link add wgor type $kind
	fi
	nsx hsr $WG setconf wgor $B/resp.conf
	$IP -n hsr link set wgor up
	for i in $(seq "$INITIATORS"); do
		echo "link add hi$i type $kind"
	done | $IP -n hsi -batch -
	nsx hsi bash -c "for i in \$(seq $INITIATORS); do $WG setconf hi\$i $B/init\$i.conf || exit; done"
	nsx hsi $PING -c 1 -W 2 192.168.60.1 >/dev/null	# resolve ARP first
	for round in $(seq "$HS_ROUNDS"); do
		if [ "$round" -gt 1 ]; then
			# Down clears the initiators' sessions; setconf gives
			# the responder new peers, without handshakes.
			for i in $(seq "$INITIATORS"); do
				echo "link set hi$i down"
			done | $IP -n hsi -batch -
			nsx hsr $WG setconf wgor $B/resp.conf
			[ "$(hs_done)" = 0 ] || {
				echo "responder still has handshakes after setconf"
				return 1
			}
		fi
		hs_round "$col" || return 1
	done
}

# hs_done: how many of the responder's peers have completed a handshake.
hs_done()
{
	nsx hsr $WG show wgor latest-handshakes | awk '$2 != 0' | wc -l
}

# hs_round COLUMN: bring the initiators up and record the rate.
hs_round()
{
	local col=$1 i t0 t1 tup n rate dt dup
	t0=$(now)
	for i in $(seq "$INITIATORS"); do
		echo "link set hi$i up"
	done | $IP -n hsi -batch -
	tup=$(now)
	while :; do
		n=$(hs_done)
		t1=$(now)
		[ "$n" -lt "$INITIATORS" ] || break
		if awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a > 120) }'; then
			echo "only $n of $INITIATORS handshakes after 120 s"
			return 1
		fi
		sleep 0.05
	done
	read -r rate dt dup < <(awk -v a="$t0" -v b="$t1" -v u="$tup" -v n="$INITIATORS" \
		'BEGIN { printf "%.1f %.2f %.2f\n", n / (b - a), b - a, u - a }')
	echo "$col: $INITIATORS handshakes in $dt s = $rate/s" \
		"(of that, bringing the initiators up: $dup s)"
	record "$col" hs_rate "$rate"
}

# --- memory -----------------------------------------------------------------

# meminfo FIELD: kB.
meminfo()
{
	awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo
}

# settle: free what can be freed before a reading, including the empty slabs
# SLUB keeps on its partial lists: without that, the objects freed by the
# previous repetition hide the growth of the next one.
settle()
{
	local f
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f"
	done 2>/dev/null
	sleep 1
}

# slabtop: the caches that grew since $B/slabinfo.0 (bytes, largest first).
slabtop()
{
	[ -r /proc/slabinfo ] || return 0
	awk 'FNR == NR { if (FNR > 2) b[$1] = $3 * $4; next }
	     FNR > 2 { d = $3 * $4 - b[$1]; if (d > 65536) printf "  %-28s %9d kB\n", $1, d / 1024 }' \
		"$B/slabinfo.0" /proc/slabinfo | sort -k2 -rn | head -n 6
}

# memory COLUMN KIND REP: Slab (and percpu + vmalloc) growth of a device
# given PEERS peers, then PREFIXES prefixes spread over them; REP 1 also
# lists the caches that grew.
memory()
{
	local col=$1 kind=$2 rep=$3 s0 s1 s2 o0 o1 o2 t0 t1
	$IP link add wgmem type "$kind"
	_case_links="$_case_links wgmem"
	settle
	cat /proc/slabinfo >"$B/slabinfo.0" 2>/dev/null || true
	s0=$(meminfo Slab) o0=$(($(meminfo Percpu) + $(meminfo VmallocUsed)))
	$WG setconf wgmem $B/mem-peers.conf
	settle
	s1=$(meminfo Slab) o1=$(($(meminfo Percpu) + $(meminfo VmallocUsed)))
	[ "$rep" != 1 ] || { echo "$col: caches grown by $PEERS peers:"; slabtop; }
	cat /proc/slabinfo >"$B/slabinfo.0" 2>/dev/null || true
	# The prefixes' insertion rate, through netlink as users set
	# them (bash's clock, microseconds).
	t0=${EPOCHREALTIME/./}
	$WG setconf wgmem $B/mem-prefixes.conf
	t1=${EPOCHREALTIME/./}
	settle
	s2=$(meminfo Slab) o2=$(($(meminfo Percpu) + $(meminfo VmallocUsed)))
	[ "$rep" != 1 ] || { echo "$col: caches grown by $PREFIXES prefixes:"; slabtop; }
	$IP link del wgmem
	record "$col" mem_peer $(((s1 - s0) * 1024 / PEERS))
	record "$col" mem_prefix $(((s2 - s1) * 1024 / PREFIXES))
	record "$col" mem_peer_other $(((o1 - o0) * 1024 / PEERS))
	record "$col" mem_prefix_other $(((o2 - o1) * 1024 / PREFIXES))
	record "$col" prefix_rate $((PREFIXES * 1000000 / (t1 - t0 + 1)))
	echo "$col: slab +$((s1 - s0)) kB for $PEERS peers, +$((s2 - s1)) kB for $PREFIXES prefixes; percpu+vmalloc +$((o1 - o0)) kB, +$((o2 - o1)) kB; prefixes set in $(((t1 - t0) / 1000)) ms"
}

# --- cases ------------------------------------------------------------------

# Random-looking public keys for the memory test: any 32 bytes will do.
mem_conf()
{
	local per=$(((PREFIXES + PEERS - 1) / PEERS))
	head -c $((PEERS * 33)) /dev/urandom | base64 -w 0 |
	awk -v peers="$PEERS" -v per="$1" -v total="$PREFIXES" '{
		for (p = 0; p < peers; p++) {
			key = substr($0, p * 44 + 1, 42) "A="
			printf "[Peer]\nPublicKey = %s\n", key
			if (!per) continue
			printf "AllowedIPs = "
			for (i = 0; i < per && p * per + i < total; i++) {
				n = p * per + i
				printf "%s%d.%d.%d.%d/32", i ? "," : "", 10 + int(n / 16777216),
					int(n / 65536) % 256, int(n / 256) % 256, n % 256
			}
			printf "\n"
		}
	}'
	[ "$per" -gt 0 ]
}

t_prepare()
{
	local i k c
	for c in iperf3 wireguard-go; do
		command -v $c >/dev/null || { echo "$c missing in the guest"; return 1; }
	done
	$PING -V | grep -q iputils
	modprobe tun	# /dev/net/tun for wireguard-go
	rm -rf "$B" && mkdir -p "$B"
	: >"$RES"
	umask 077
	for k in a b resp; do
		$WG genkey >$B/$k.key
		$WG pubkey <$B/$k.key >$B/$k.pub
	done
	printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n' \
		"$(cat $B/resp.key)" $HS_PORT >$B/resp.conf
	for i in $(seq "$INITIATORS"); do
		k=$($WG genkey)
		printf '[Interface]\nPrivateKey = %s\nListenPort = %d\n[Peer]\nPublicKey = %s\nEndpoint = 192.168.60.1:%d\nAllowedIPs = 10.60.0.1/32\nPersistentKeepalive = 25\n' \
			"$k" $((52000 + i)) "$(cat $B/resp.pub)" $HS_PORT >$B/init$i.conf
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.61.%d.%d/32\n' \
			"$($WG pubkey <<<"$k")" $((i / 256)) $((i % 256)) >>$B/resp.conf
	done
	# The same peers twice: without, then with the prefixes.
	mem_conf $(((PREFIXES + PEERS - 1) / PEERS)) >$B/mem-prefixes.conf
	awk '!/^AllowedIPs/' $B/mem-prefixes.conf >$B/mem-peers.conf
	echo "reps=$REPS time=${TIME}s pings=$PINGS initiators=$INITIATORS peers=$PEERS prefixes=$PREFIXES"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-), $(nproc) vCPUs"
}

# t_column COLUMN
t_column()
{
	local col=$1 bad=0
	trap bench_cleanup EXIT
	column_up "$col"
	measure "$col" || bad=1
	if [ "$col" != veth ]; then
		handshakes "$col" || bad=1
	fi
	return $bad
}

# t_handshakes COLUMN: the handshake row alone (in-tree or wg).
t_handshakes()
{
	trap bench_cleanup EXIT
	column_load "$1"
	handshakes "$1"
}

# t_memory COLUMN REP
t_memory()
{
	trap bench_cleanup EXIT
	column_load "$1"
	memory "$1" "$COL_KIND" "$2"
}

# memory_runs: the memory rows, REPS runs, the two drivers interleaved
# and taking turns to go first (the first after a module load may pay
# for fresh slab pages: an order effect, not the driver's).
memory_runs()
{
	local rep
	for rep in $(seq "$REPS"); do
		if [ $((rep % 2)) = 1 ]; then
			run_case "memory run $rep/$REPS: wg" t_memory wg "$rep"
			run_case "memory run $rep/$REPS: in-tree wireguard" t_memory intree "$rep"
		else
			run_case "memory run $rep/$REPS: in-tree wireguard" t_memory intree "$rep"
			run_case "memory run $rep/$REPS: wg" t_memory wg "$rep"
		fi
	done
}

# t_tables: the allowed-IPs trie alone, REPS times: PREFIXES random
# prefixes inserted, then lookups of addresses inside them, timed in the
# kernel by wg's debug build (its table_bench parameter; run.sh packs
# that build as /selftests/wg-debug.ko).  Every lookup must find an owner.
t_tables()
{
	local ko=/selftests/wg-debug.ko p rep r ins look n found
	p=/sys/module/$WG_MODULE/parameters/table_bench
	[ -f $ko ] || skip "no debug build of $WG_MODULE in the initramfs"
	trap bench_cleanup EXIT
	# modprobe loads the dependencies; rmmod (not modprobe -r) keeps them.
	use_module "$WG_MODULE"
	wait_for 60 rmmod "$WG_MODULE"
	insmod $ko
	for rep in $(seq "$REPS"); do
		echo "$PREFIXES" >$p
		r=$(cat $p)
		echo "tables $rep: $r"
		ins=$(kv "$r" inserts_per_s) look=$(kv "$r" lookups_per_s)
		n=$(kv "$r" lookups) found=$(kv "$r" found)
		[ -n "$ins" ] && [ -n "$look" ] && [ -n "$n" ] ||
			{ echo "table_bench gave no result"; return 1; }
		[ "$found" = "$n" ] ||
			{ echo "$found of $n lookups found their prefix"; return 1; }
		record wg table_insert_rate "$ins"
		record wg table_lookup_rate "$look"
	done
	rmmod "$WG_MODULE"
}

# kv "k1=v1 k2=v2" K: the value of K.
kv()
{
	tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}

t_report()
{
	local v_wg v_in v_go
	v_wg=$(modinfo -F version "$WG_MODULE" 2>/dev/null)
	v_in=$(modinfo -F version wireguard 2>/dev/null)
	v_go=$(wireguard-go --version 2>/dev/null | head -n 1)
	cat >$B/rows <<-'EOF'
	tcp1_ab|TCP, 1 flow, a->b|Mbit/s|higher
	tcp1_ba|TCP, 1 flow, b->a|Mbit/s|higher
	tcp4_ab|TCP, 4 flows, a->b|Mbit/s|higher
	tcp4_ba|TCP, 4 flows, b->a|Mbit/s|higher
	udp_rx|UDP 1300 B, received|Mbit/s|higher
	udp_loss|UDP 1300 B, loss|%|lower
	lat_p50|ping RTT, median|ms|lower
	lat_p99|ping RTT, p99|ms|lower
	hs_rate|handshakes, 1 responder|1/s|higher
	mem_peer|memory/peer, slab|bytes|lower
	mem_prefix|memory/prefix, slab|bytes|lower
	prefix_rate|prefixes set (wg setconf)|1/s|higher
	table_insert_rate|trie alone: prefixes inserted|1/s|higher
	table_lookup_rate|trie alone: lookups|1/s|higher
	mem_peer_other|memory/peer, percpu+vmalloc|bytes|lower|json
	mem_prefix_other|memory/prefix, percpu+vmalloc|bytes|lower|json
	EOF
	awk -F'|' -v reps="$REPS" -v hsrounds="$HS_ROUNDS" -v kernel="$(uname -r)" -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		-v cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
		-v vcpus="$(nproc)" -v memkb="$(meminfo MemTotal)" \
		-v v_wg="$v_wg" -v v_in="$v_in" -v v_go="$v_go" \
		-v knobs="\"reps\": $REPS, \"time_s\": $TIME, \"pings\": $PINGS, \"initiators\": $INITIATORS, \"hs_rounds\": $HS_ROUNDS, \"peers\": $PEERS, \"prefixes\": $PREFIXES" '
	function fmt(v,   a) {
		if (v == "") return "-"
		if (v == 0) return "0"
		a = v < 0 ? -v : v
		if (a >= 100) return sprintf("%.0f", v)
		if (a >= 10) return sprintf("%.1f", v)
		if (a >= 1) return sprintf("%.2f", v)
		return sprintf("%.3f", v)
	}
	# stats KEY: sets MED MIN MAX N and LIST (JSON array) for one cell.
	function stats(k,   i, j, t, a) {
		N = cnt[k] + 0; MED = MIN = MAX = ""; LIST = ""
		if (!N) return
		for (i = 1; i <= N; i++) {
			a[i] = val[k, i] + 0
			LIST = LIST (i > 1 ? ", " : "") val[k, i]
		}
		for (i = 2; i <= N; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		MED = N % 2 ? a[(N + 1) / 2] : (a[N / 2] + a[N / 2 + 1]) / 2
		MIN = a[1]; MAX = a[N]
	}
	function cell(k,   s) {
		stats(k)
		if (!N) return "-"
		s = fmt(MED)
		if (N > 1 && MED != 0)
			s = s sprintf(" ±%d%%", (MAX - MIN) / 2 / (MED < 0 ? -MED : MED) * 100 + 0.5)
		return s
	}
	FNR == NR { nr++; id[nr] = $1; label[nr] = $2; unit[nr] = $3; better[nr] = $4; only[nr] = $5; next }
	{
		split($0, f, " ")
		k = f[1] SUBSEP f[2]
		val[k, ++cnt[k]] = f[3]
	}
	END {
		nc = split("intree wg wgo veth", col, " ")
		split("in-tree|wg|wireguard-go|veth", name, "|")
		print "BENCH-TABLE-BEGIN"
		printf "%-30s %-7s %13s %13s %8s %13s %13s\n", "", "unit", "in-tree", "wg", "wg/in-tr", "wireguard-go", "veth"
		for (r = 1; r <= nr; r++) {
			if (only[r] == "json") continue	# noise at this size
			line = sprintf("%-30s %-7s", label[r], unit[r])
			for (c = 1; c <= nc; c++) {
				s = cell(col[c] SUBSEP id[r])
				med[c] = MED
				if (c == 3) {
					ratio = (med[1] != "" && med[2] != "" && med[1] != 0) ? sprintf("%.2f", med[2] / med[1]) : "-"
					line = line sprintf(" %8s", ratio)
				}
				line = line sprintf(" %13s", s)
			}
			print line
		}
		print ""
		print "median of " reps " runs (handshakes: " hsrounds " rounds each); ±: half the"
		print "range (max-min) over the median;"
		print "wg/in-tr: ratio of the medians (higher is better for Mbit/s and 1/s,"
		print "lower for %, ms, bytes); " cpu ", " vcpus " vCPUs, TCG"
		print "BENCH-TABLE-END"

		js = "{\"kernel\": \"" kernel "\", \"date\": \"" date "\""
		js = js ", \"guest\": {\"cpu\": \"" cpu "\", \"vcpus\": " vcpus ", \"mem_kb\": " memkb "}"
		js = js ", \"versions\": {\"wg\": \"" v_wg "\", \"in-tree\": \"" v_in "\", \"wireguard-go\": \"" v_go "\"}"
		js = js ", \"knobs\": {" knobs "}, \"rows\": ["
		for (r = 1; r <= nr; r++) {
			js = js (r > 1 ? ", " : "") "{\"id\": \"" id[r] "\", \"label\": \"" label[r] "\", \"unit\": \"" unit[r] "\", \"better\": \"" better[r] "\""
			for (c = 1; c <= nc; c++) {
				stats(col[c] SUBSEP id[r])
				med[c] = MED
				if (!N) { js = js ", \"" name[c] "\": null"; continue }
				js = js sprintf(", \"%s\": {\"median\": %s, \"min\": %s, \"max\": %s, \"runs\": [%s]}", name[c], MED, MIN, MAX, LIST)
			}
			if (med[1] != "" && med[2] != "" && med[1] != 0)
				js = js sprintf(", \"ratio_wg_in_tree\": %.3f", med[2] / med[1])
			js = js "}"
		}
		print "BENCH-JSON " js "]}"
	}' $B/rows "$RES"
}

# tunnel_up intree|wg: column_up, and iperf3's server listening.
tunnel_up()
{
	column_up "$1"
	iperf_server
}

# retransmits: the sender's retransmissions, from iperf3's output on stdin.
retransmits() { awk '/sender/ { r = $(NF - 1) } END { print r }'; }

# t_profile COLUMN: where the CPU time of one TCP flow a->b goes.
# sys_counters: context switches, idle CPU time (USER_HZ ticks, all CPUs),
# rescheduling and function-call IPIs, and packets received by the b side's
# veth, as one line of numbers.
sys_counters()
{
	echo "$(awk '/^ctxt/ { print $2 }' /proc/stat)" \
		"$(awk '/^cpu / { print $5 }' /proc/stat)" \
		"$(awk '$1 == "RES:" || $1 == "CAL:" { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i; printf "%d ", s; s = 0 }' /proc/interrupts)" \
		"$($IP -n bb -s link show vb | awk '/RX:/ { getline; print $2 }')"
}

# task_switches: "COMM SWITCHES" for every thread (digits in COMM folded).
task_switches()
{
	local f c n
	for f in /proc/[0-9]*/task/[0-9]*; do
		read -r c <"$f/comm" 2>/dev/null || continue
		n=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$f/status" 2>/dev/null)
		echo "${f##*/} ${c//[0-9]/N} $n"
	done
}

# task_switches_delta BEFORE AFTER: switches per kind of thread, top five.
task_switches_delta()
{
	awk 'NR == FNR { b[$1] = $3; next } { d[$2] += $3 - b[$1] }
		END { for (c in d) if (d[c] > 0) print d[c], c }' "$1" "$2" |
		sort -rn | head -5 | tr '\n' ' '
}

# sys_counters_delta BEFORE AFTER: the counters' growth, per outer packet.
sys_counters_delta()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		p = y[n] - x[n]; if (p <= 0) p = 1
		printf "%d packets; per packet: %.2f context switches, %.2f resched IPIs, %.2f call IPIs; idle %d ticks",
			p, (y[1] - x[1]) / p, (y[3] - x[3]) / p, (y[4] - x[4]) / p, y[2] - x[2] }'
}

t_profile()
{
	local col=$1 out
	trap bench_cleanup EXIT
	command -v perf >/dev/null || { echo "perf missing in the guest"; return 1; }
	tunnel_up "$col"
	modprobe tcp_diag 2>/dev/null	# ss's tcp_info (else /proc/net/tcp)
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	perf record -q -a -e cpu-clock -F 997 -o "$B/perf-$col.data" \
		-- sleep $((TIME + 1)) 2>"$B/perf-$col.err" &
	out=$(iperf -P 1 -O 1) || return 1
	wait $!
	echo "$col: TCP 1 flow a->b $(mbits <<<"$out") Mbit/s while profiled"
	perf report -i "$B/perf-$col.data" --stdio --no-children \
		--sort dso,sym --percent-limit 0.3 2>/dev/null | grep -v '^#' | grep -v '^$'
	echo "$col: by thread:"
	perf report -i "$B/perf-$col.data" --stdio --no-children \
		--sort comm --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$'
	# Unprofiled, for a quick comparison: the rates and retransmissions.
	local before
	for v in "1 flow b->a|-P 1 -R" "4 flows a->b|-P 4" "1 flow a->b|-P 1"; do
		before=$(sys_counters)
		task_switches >"$B/ts-before"
		# Both ends' TCP state half way: what limits the sender (cwnd,
		# rwnd, send buffer, pacing) shows in ss's tcp_info.
		{ sleep $((TIME / 2 + 1)); for n in ba bb; do
			$IP netns exec $n ss -tinH '( sport = :5201 or dport = :5201 )' |
				awk -v p="$col: ss $n:" '/bytes_(sent|received):[0-9][0-9][0-9][0-9][0-9][0-9]/ { $1 = $1; print p, $0 }'
		done; } &
		# shellcheck disable=SC2086
		out=$(iperf ${v#*|} -O 1) || return 1
		wait $!
		echo "$col: TCP ${v%%|*} $(mbits <<<"$out") Mbit/s, retransmits $(retransmits <<<"$out")"
		echo "$col: during it: $(sys_counters_delta "$before" "$(sys_counters)")"
		task_switches >"$B/ts-after"
		echo "$col: switches by thread: $(task_switches_delta "$B/ts-before" "$B/ts-after")"
	done
	# Where packets were dropped, if anywhere.
	for v in ba:wga bb:wgb; do
		echo "$col ${v%%:*}: $($IP -n "${v%%:*}" -s link show "${v#*:}" | awk '/RX:|TX:/ { getline; printf "%s ", $0 }')"
		$IP netns exec "${v%%:*}" ethtool -S "${v#*:}" 2>/dev/null | awk '$2 != 0 && NR > 1'  || true
	done
	for v in ba bb; do
		echo "$v: $($IP netns exec $v cat /proc/net/snmp | awk '/^(Udp|Ip):/ { if (h[$1]++) print }' | tr '\n' ' ')"
		echo "$v: $($IP -n $v -s link | awk '/^[0-9]+:/ { n = $2 } /RX:|TX:/ { getline; printf "%s %s ", n, $0 }')"
	done
	$IP netns exec ba cat /proc/net/netstat | awk '
		/^TcpExt:/ && !h { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
		/^TcpExt:/ { for (i = 2; i <= NF; i++)
			if ($i != 0 && n[i] ~ /Reorder|Timeout|Spurious|Lost|Retrans|DSACK|OFO|Drop/)
				printf "%s=%s ", n[i], $i; print "" }'
	local d=0 _ b
	while read -r _ b _; do d=$((d + 0x$b)); done </proc/net/softnet_stat
	echo "softnet backlog drops: $d"
}

# t_profile_setconf COLUMN: where `wg setconf` of PREFIXES prefixes over
# PEERS existing peers (the memory row's timed step) spends its time:
# perf's samples of both vCPUs, by symbol and by command.
t_profile_setconf()
{
	local col=$1 t0 t1
	trap bench_cleanup EXIT
	command -v perf >/dev/null || { echo "perf missing in the guest"; return 1; }
	column_load "$col"
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	$IP link add wgmem type "$COL_KIND"
	_case_links="$_case_links wgmem"
	$WG setconf wgmem $B/mem-peers.conf
	settle
	t0=${EPOCHREALTIME/./}
	perf record -q -a -e cpu-clock -F 997 -o "$B/perf-set-$col.data" \
		-- "$WG" setconf wgmem "$B/mem-prefixes.conf" 2>"$B/perf-set-$col.err"
	t1=${EPOCHREALTIME/./}
	echo "$col: setconf of $PREFIXES prefixes over $PEERS peers took $(((t1 - t0) / 1000)) ms under perf"
	perf report -i "$B/perf-set-$col.data" --stdio --no-children \
		--sort dso,sym --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$'
	echo "$col: by command:"
	perf report -i "$B/perf-set-$col.data" --stdio --no-children \
		--sort comm --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$'
	$IP link del wgmem
}

# t_rates: TCP 1 flow a->b and b->a through in-tree and wg, alternating,
# REPS times: a quick comparison while trying a change.
t_rates()
{
	local i col v out
	trap bench_cleanup EXIT
	for i in $(seq "$REPS"); do
		for col in intree wg; do
			tunnel_up "$col"
			for v in "a->b|-P 1" "b->a|-P 1 -R"; do
				# shellcheck disable=SC2086
				out=$(iperf ${v#*|} -O 1) || return 1
				echo "rate $i $col ${v%%|*} $(mbits <<<"$out") Mbit/s, retransmits $(retransmits <<<"$out")"
			done
			bench_cleanup
		done
	done
}

# t_pings: only the ping row, in-tree, wireguard-go and wg in turn, REPS
# times: a quick comparison of round-trip times.
t_pings()
{
	local i col out
	trap bench_cleanup EXIT
	for i in $(seq "$REPS"); do
		for col in intree wgo wg; do
			column_up "$col"
			out=$(rtt "$col") || return 1
			echo "ping $i $col $out"
			bench_cleanup
		done
	done
}

if [ "$PROFILE" = 4 ]; then
	# The rows the protocol core and the tables decide, in-tree and wg:
	# handshakes, memory per peer and per prefix, prefixes set.
	ktap_plan $((REPS * 4 + 3))
	run_case "prepare keys and configurations" t_prepare
	for rep in $(seq "$REPS"); do
		run_case "run $rep/$REPS: handshakes, in-tree wireguard" t_handshakes intree
		run_case "run $rep/$REPS: handshakes, wg" t_handshakes wg
	done
	memory_runs
	run_case "tables: wg's trie alone" t_tables
	run_case "report" t_report
	ktap_finished
	exit
elif [ "$PROFILE" != 0 ]; then
	ktap_plan $((PROFILE == 1 || PROFILE == 5 ? 3 : 2))
	run_case "prepare keys and configurations" t_prepare
	case $PROFILE in
	1)
		run_case "profile: in-tree wireguard" t_profile intree
		run_case "profile: wg" t_profile wg ;;
	2) run_case "rates: TCP 1 flow, in-tree and wg" t_rates ;;
	5)
		run_case "profile setconf: in-tree wireguard" t_profile_setconf intree
		run_case "profile setconf: wg" t_profile_setconf wg ;;
	*) run_case "pings: in-tree, wireguard-go and wg" t_pings ;;
	esac
	ktap_finished
	exit
fi

ktap_plan $((REPS * 6 + 3))
run_case "prepare keys and configurations" t_prepare
for rep in $(seq "$REPS"); do
	run_case "run $rep/$REPS: veth" t_column veth
	run_case "run $rep/$REPS: in-tree wireguard" t_column intree
	run_case "run $rep/$REPS: wireguard-go" t_column wgo
	run_case "run $rep/$REPS: wg" t_column wg
done
memory_runs
run_case "tables: wg's trie alone" t_tables
run_case "report" t_report
ktap_finished
