#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configuration through the stock wg tool: every field round-trips through
# `wg showconf`; setconf/addconf/syncconf/set peer remove do what the file
# says; the device's own public key is never a peer; listen ports are really
# bound and rebound; big configurations survive split dumps (checked with
# wgnl dump); many devices, namespace moves and module unload.
. /selftests/lib.sh

WGNL=${WGNL:-/usr/bin/wgnl}
ZERO_KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

ktap_plan 16

TMP=$(mktemp -d /tmp/wg-config.XXXXXX)
wg_keypair DEV_PRIV DEV_PUB
wg_keypair DEV2_PRIV DEV2_PUB
wg_keypair A_PRIV A_PUB
wg_keypair B_PRIV B_PUB
wg_keypair C_PRIV C_PUB
wg_keypair D_PRIV D_PUB
PSK1=$($WG genpsk)
PSK2=$($WG genpsk)
for k in DEV_PRIV DEV2_PRIV A_PRIV; do
	printf '%s\n' "${!k}" >"$TMP/$k"
done
printf '%s\n' "$ZERO_KEY" >"$TMP/zero"

# What we set, with host bits in some prefixes ...
cat >"$TMP/full.conf" <<EOF
[Interface]
PrivateKey = $DEV_PRIV
ListenPort = 51820
FwMark = 0x1234

[Peer]
PublicKey = $A_PUB
PresharedKey = $PSK1
Endpoint = 192.0.2.1:51820
PersistentKeepalive = 25
AllowedIPs = 10.1.2.3/24, 192.168.7.7/32, fd00:1::5/64, 10.255.255.255/1

[Peer]
PublicKey = $B_PUB
Endpoint = [2001:db8::1]:51822
AllowedIPs = 0.0.0.0/0, ::/0, 2001:db8:ffff::1/33
EOF
# ... and what must come back.
cat >"$TMP/full.expect" <<EOF
[Interface]
PrivateKey = $DEV_PRIV
ListenPort = 51820
FwMark = 0x1234

[Peer]
PublicKey = $A_PUB
PresharedKey = $PSK1
Endpoint = 192.0.2.1:51820
PersistentKeepalive = 25
AllowedIPs = 10.1.2.0/24, 192.168.7.7/32, fd00:1::/64, 0.0.0.0/1

[Peer]
PublicKey = $B_PUB
Endpoint = [2001:db8::1]:51822
AllowedIPs = 0.0.0.0/0, ::/0, 2001:db8:8000::/33
EOF

# canon: a wg config file on stdin as sorted "OWNER KEY VALUE" lines, one per
# allowed IP, OWNER being "interface" or the peer's public key.  Peer and
# prefix order do not matter; everything else does.
canon()
{
	awk '
	/^\[Interface\]/ { sec = "interface"; next }
	/^\[Peer\]/ { sec = "peer" ++npeer; next }
	/=/ {
		k = $0; sub(/[ \t]*=.*/, "", k)
		v = $0; sub(/^[^=]*=[ \t]*/, "", v)
		if (k == "PublicKey") owner[sec] = v
		n++; s[n] = sec; key[n] = k; val[n] = v
	}
	END {
		for (i = 1; i <= n; i++) {
			o = s[i] == "interface" ? "interface" : owner[s[i]]
			if (key[i] != "AllowedIPs") { print o, key[i], val[i]; continue }
			c = split(val[i], a, /[ \t]*,[ \t]*/)
			for (j = 1; j <= c; j++)
				if (a[j] != "") print o, "AllowedIPs", a[j]
		}
	}' | LC_ALL=C sort
}

# conf_is DEV FILE [NS]: DEV's showconf equals FILE, up to ordering.
conf_is()
{
	local got=$TMP/got.canon want=$TMP/want.canon
	if [ -n "${3:-}" ]; then
		nsx "$3" $WG showconf "$1" | canon >"$got"
	else
		$WG showconf "$1" | canon >"$got"
	fi
	canon <"$2" >"$want"
	cmp -s "$got" "$want" && return 0
	echo "showconf $1 differs from $2 (-want +got):"
	diff "$want" "$got" | head -n 40
	return 1
}

# peer_field DEV WHAT PUBKEY [NS]: the peer's column of `wg show DEV WHAT`.
peer_field()
{
	if [ -n "${4:-}" ]; then
		nsx "$4" $WG show "$1" "$2"
	else
		$WG show "$1" "$2"
	fi | awk -v k="$3" '$1 == k { print $2 }'
}

# udp_bound PORT: some UDP socket of this namespace is bound to PORT.
udp_bound()
{
	cat /proc/net/udp /proc/net/udp6 2>/dev/null |
		awk -v p="$(printf '%04X' "$1")" '
			$2 ~ /:/ { n = split($2, a, ":"); if (a[n] == p) f = 1 }
			END { exit !f }'
}

udp_free()
{
	! udp_bound "$1"
}

# field OUTPUT NAME: NAME=value from wgnl dump's summary line.
field()
{
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# gen_conf NPEERS NPREFIXES [FIRST]: a config of random public keys, each
# with NPREFIXES distinct prefixes (v4 /24 and v6 /64 alternating, numbered
# from FIRST), already in the canonical form wg prints.  No private key, so that adding thousands of
# peers costs no Curve25519 under TCG.
gen_conf()
{
	head -c $(($1 * 43 * 5 + 4096)) /dev/urandom | tr -dc 'A-Za-z0-9+/' |
		fold -w 43 | awk -v npeers="$1" -v nips="$2" -v first="${3:-0}" '
		BEGIN {
			alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
			# the 43rd character of a 32-byte key carries 4 bits
			last = "AEIMQUYcgkosw048"
			print "[Interface]"
		}
		length($0) == 43 && p < npeers {
			key = substr($0, 1, 42) \
				substr(last, (index(alpha, substr($0, 43, 1)) - 1) % 16 + 1, 1) "="
			line = ""
			for (j = 0; j < nips; j++) {
				k = first + p * nips + j
				h = int(k / 2)
				if (k % 2 == 0)
					ip = sprintf("10.%d.%d.0/24", int(h / 256) % 256, h % 256)
				else
					ip = sprintf("fd00:%x:%x::/64",
						     int(h / 65536) + 1, h % 65536 + 1)
				line = line (j ? ", " : "") ip
			}
			printf "\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\n", key, line
			p++
		}
		END { if (p != npeers) exit 1 }'
}

t_load()
{
	modprobe -r "$WG_REF_MODULE" 2>/dev/null || true
	load_wg
	test -d "/sys/module/$WG_MODULE"
}

t_roundtrip()
{
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	conf_is wg0 "$TMP/full.expect"
	assert_eq "$($WG show wg0 public-key)" "$DEV_PUB" "public key"
	assert_eq "$($WG show wg0 fwmark)" 0x1234 "fwmark"
	assert_eq "$(peer_field wg0 persistent-keepalive "$A_PUB")" 25 \
		"persistent keepalive"
	# and a second time over itself: nothing changes
	$WG showconf wg0 >"$TMP/again.conf"
	$WG setconf wg0 "$TMP/again.conf"
	conf_is wg0 "$TMP/full.expect"
}

t_setconf_replaces()
{
	cat >"$TMP/replace.conf" <<-EOF
	[Interface]
	PrivateKey = $DEV_PRIV
	ListenPort = 51821
	FwMark = 0x99

	[Peer]
	PublicKey = $C_PUB
	AllowedIPs = 10.3.0.0/16

	[Peer]
	PublicKey = $A_PUB
	AllowedIPs = 10.4.0.0/16
	EOF
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	# A is replaced too: its preshared key, endpoint, keepalive and
	# prefixes go; B goes entirely.
	$WG setconf wg0 "$TMP/replace.conf"
	conf_is wg0 "$TMP/replace.conf"
}

t_addconf_adds()
{
	cat >"$TMP/add.conf" <<-EOF
	[Peer]
	PublicKey = $C_PUB
	AllowedIPs = 10.3.0.0/16, 10.1.2.0/24

	[Peer]
	PublicKey = $B_PUB
	AllowedIPs = 10.5.0.0/16
	EOF
	# 10.1.2.0/24 moves from A to C.  A peer in a config file replaces
	# its allowed IPs (wg sets REPLACE_ALLOWEDIPS there), so B ends up
	# with just 10.5.0.0/16.
	sed -e "s|^AllowedIPs = 10.1.2.0/24, |AllowedIPs = |" \
		-e "s|^AllowedIPs = 0.0.0.0/0, .*|AllowedIPs = 10.5.0.0/16|" \
		"$TMP/full.expect" >"$TMP/add.expect"
	printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.3.0.0/16, 10.1.2.0/24\n' \
		"$C_PUB" >>"$TMP/add.expect"
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	$WG addconf wg0 "$TMP/add.conf"
	conf_is wg0 "$TMP/add.expect"
}

t_syncconf()
{
	# new private key, port and mark; A: new psk and keepalive, prefixes
	# dropped and added; B removed; D added.
	cat >"$TMP/sync.conf" <<-EOF
	[Interface]
	PrivateKey = $DEV2_PRIV
	ListenPort = 51823
	FwMark = 0x77

	[Peer]
	PublicKey = $A_PUB
	PresharedKey = $PSK2
	Endpoint = 192.0.2.1:51820
	PersistentKeepalive = 10
	AllowedIPs = 10.1.2.0/24, 10.6.0.0/16

	[Peer]
	PublicKey = $D_PUB
	AllowedIPs = fd00:d::/64
	EOF
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	$WG syncconf wg0 "$TMP/sync.conf"
	conf_is wg0 "$TMP/sync.conf"
	assert_eq "$($WG show wg0 public-key)" "$DEV2_PUB" "public key"
	# and back
	$WG syncconf wg0 "$TMP/full.expect"
	conf_is wg0 "$TMP/full.expect"
}

t_set_peer_remove()
{
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	$WG set wg0 peer "$A_PUB" remove
	canon <"$TMP/full.expect" | grep -vF "$A_PUB " >"$TMP/want"
	$WG showconf wg0 | canon >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
	# an unknown peer is no error and changes nothing
	$WG set wg0 peer "$C_PUB" remove
	$WG showconf wg0 | canon >"$TMP/got"
	cmp "$TMP/want" "$TMP/got"
}

t_own_public_key()
{
	link_add wg0 type "$WG_KIND"
	# in the same request as the private key, and in a later one
	$WG set wg0 private-key "$TMP/DEV_PRIV" peer "$DEV_PUB" allowed-ips 10.9.0.0/24
	$WG set wg0 peer "$DEV_PUB" allowed-ips 10.9.1.0/24
	assert_eq "$($WG show wg0 peers)" "" "peers"
	# taking the private key of an existing peer removes that peer
	$WG set wg0 peer "$A_PUB" allowed-ips 10.10.0.0/24 peer "$B_PUB" allowed-ips 10.11.0.0/24
	$WG set wg0 private-key "$TMP/A_PRIV"
	assert_eq "$($WG show wg0 public-key)" "$A_PUB" "public key"
	assert_eq "$($WG show wg0 peers)" "$B_PUB" "peers"
	assert_eq "$($WG show wg0 allowed-ips)" \
		"$(printf '%s\t10.11.0.0/24' "$B_PUB")" "allowed IPs"
}

t_zero_private_key()
{
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	$WG set wg0 private-key "$TMP/zero"
	assert_eq "$($WG show wg0 private-key)" "(none)" "private key"
	assert_eq "$($WG show wg0 public-key)" "(none)" "public key"
	grep -v '^PrivateKey' "$TMP/full.expect" >"$TMP/nokey.expect"
	conf_is wg0 "$TMP/nokey.expect"
	# and a key can be set again
	$WG set wg0 private-key "$TMP/DEV_PRIV"
	conf_is wg0 "$TMP/full.expect"
}

t_listen_port_zero()
{
	local port
	link_add wg0 type "$WG_KIND"
	$WG set wg0 private-key "$TMP/DEV_PRIV" listen-port 0
	$IP link set wg0 up
	port=$($WG show wg0 listen-port)
	echo "picked port $port"
	[ "$port" -gt 0 ] && [ "$port" -le 65535 ] || { echo "bad port '$port'"; return 1; }
	udp_bound "$port"
	# down and up again keeps working
	$IP link set wg0 down
	$IP link set wg0 up
	port=$($WG show wg0 listen-port)
	[ "$port" -gt 0 ]
	udp_bound "$port"
}

t_port_conflict()
{
	link_add wg0 type "$WG_KIND"
	link_add wg1 type "$WG_KIND"
	$WG set wg0 private-key "$TMP/DEV_PRIV" listen-port 51830
	$WG set wg1 private-key "$TMP/DEV2_PRIV" listen-port 51831
	$IP link set wg0 up
	$IP link set wg1 up
	udp_bound 51830
	udp_bound 51831
	expect_fail $WG set wg1 listen-port 51830
	assert_eq "$($WG show wg0 listen-port)" 51830 "first device's port"
	assert_eq "$($WG show wg1 listen-port)" 51831 "second device's port"
	udp_bound 51830
	udp_bound 51831
	# a failed port change changes nothing else in the request either
	expect_fail $WG set wg1 listen-port 51830 fwmark 0x5
	assert_eq "$($WG show wg1 fwmark)" off "second device's fwmark"
}

t_port_rebind()
{
	link_add wg0 type "$WG_KIND"
	$WG set wg0 private-key "$TMP/DEV_PRIV" listen-port 51840
	$IP link set wg0 up
	udp_bound 51840
	$WG set wg0 listen-port 51841
	assert_eq "$($WG show wg0 listen-port)" 51841 "port"
	udp_bound 51841
	wait_for 10 udp_free 51840
	# and the old port can be taken by another device
	link_add wg1 type "$WG_KIND"
	$IP link set wg1 up
	$WG set wg1 listen-port 51840
	udp_bound 51840
}

t_big_config()
{
	local out msgs
	[ -x "$WGNL" ] || skip "$WGNL missing"
	gen_conf 5000 20 >"$TMP/big.conf"
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/big.conf"
	conf_is wg0 "$TMP/big.conf"
	out=$($WGNL dump wg0)
	echo "$out"
	msgs=$(field "$out" messages)
	[ "$msgs" -gt 1 ] || { echo "dump took $msgs message(s)"; return 1; }
	assert_eq "$(field "$out" peers)" 5000 "peers in the dump"
	assert_eq "$(field "$out" allowedips)" 100000 "allowed IPs in the dump"
	assert_eq "$(field "$out" intr)" 0 "dump interrupted"
	# REPLACE_PEERS over a big set, down to nothing
	printf '[Interface]\n' >"$TMP/empty.conf"
	$WG setconf wg0 "$TMP/empty.conf"
	assert_eq "$($WG show wg0 peers)" "" "peers after setconf of an empty file"
	rm -f "$TMP/big.conf"
}

t_big_peer()
{
	local out msgs
	[ -x "$WGNL" ] || skip "$WGNL missing"
	gen_conf 1 5000 >"$TMP/bigpeer.conf"
	gen_conf 3 2 5000 | tail -n +2 >>"$TMP/bigpeer.conf"
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/bigpeer.conf"
	conf_is wg0 "$TMP/bigpeer.conf"
	out=$($WGNL dump wg0)
	echo "$out"
	msgs=$(field "$out" messages)
	[ "$msgs" -gt 1 ] || { echo "dump took $msgs message(s)"; return 1; }
	assert_eq "$(field "$out" peers)" 4 "peers in the dump"
	assert_eq "$(field "$out" allowedips)" 5006 "allowed IPs in the dump"
	# the big peer was continued in a later message
	[ "$(field "$out" peer_entries)" -gt 4 ] ||
		{ echo "no peer was split across messages"; return 1; }
}

t_many_devices()
{
	local i n
	ns_add wgmany
	for i in $(seq 0 99); do
		echo "link add wgm$i type $WG_KIND"
		echo "link set wgm$i up"
	done >"$TMP/add.batch"
	nsx wgmany $IP -batch "$TMP/add.batch"
	n=$(nsx wgmany $IP -o link show | grep -c ' wgm[0-9]*[:@]')
	assert_eq "$n" 100 "devices"
	for i in 0 42 99; do
		nsx wgmany $WG set "wgm$i" private-key "$TMP/DEV_PRIV" \
			peer "$A_PUB" allowed-ips "10.$i.0.0/16"
		assert_eq "$(nsx wgmany $WG show "wgm$i" allowed-ips)" \
			"$(printf '%s\t10.%d.0.0/16' "$A_PUB" "$i")" "wgm$i allowed IPs"
	done
	for i in $(seq 0 99); do
		echo "link del wgm$i"
	done >"$TMP/del.batch"
	nsx wgmany $IP -batch "$TMP/del.batch"
	n=$(nsx wgmany $IP -o link show | grep -c ' wgm[0-9]*[:@]' || true)
	assert_eq "$n" 0 "devices left"
}

no_root_wg0()
{
	! $IP -o link show | grep -q ' wg0[:@]'
}

t_netns_move()
{
	ns_add wgmove
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/full.conf"
	$IP link set wg0 netns wgmove
	wait_for 5 no_root_wg0
	conf_is wg0 "$TMP/full.expect" wgmove
	# still configurable there
	nsx wgmove $WG set wg0 peer "$C_PUB" allowed-ips 10.12.0.0/16
	nsx wgmove $IP link set wg0 up
	# its UDP sockets stay in the namespace it was created in
	wait_for 10 udp_bound 51820
	assert_eq "$(peer_field wg0 allowed-ips "$C_PUB" wgmove)" 10.12.0.0/16 \
		"new peer's allowed IPs"
	# deleting the namespace deletes the device (closing its sockets
	# here); it does not come back to this namespace
	$IP netns del wgmove
	_case_netns=
	wait_for 10 udp_free 51820
	no_root_wg0
	assert_eq "$($IP -o link show type "$WG_KIND")" "" "$WG_KIND devices here"
}

t_unload_with_devices()
{
	local ns
	ns_add wgu1 wgu2
	link_add wg0 type "$WG_KIND"
	$WG set wg0 private-key "$TMP/DEV_PRIV" listen-port 51850 \
		peer "$A_PUB" allowed-ips 10.1.0.0/16
	$IP link set wg0 up
	wg_dev_add wgu1 wg0
	nsx wgu1 $WG setconf wg0 "$TMP/full.conf"
	nsx wgu1 $IP link set wg0 up
	wg_dev_add wgu2 wg0
	wg_dev_add wgu2 wg1
	nsx wgu2 $WG set wg1 listen-port 0 peer "$B_PUB" allowed-ips 10.2.0.0/16
	nsx wgu2 $IP link set wg1 up
	# created here, living in wgu1
	link_add wgx type "$WG_KIND"
	$WG set wgx private-key "$TMP/DEV2_PRIV" listen-port 51851
	$IP link set wgx netns wgu1
	nsx wgu1 $IP link set wgx up
	modprobe -r "$WG_MODULE"
	expect_fail test -d "/sys/module/$WG_MODULE"
	for ns in "" wgu1 wgu2; do
		if $IP ${ns:+-n "$ns"} -o link show | grep -E ' (wg[01]|wgx)[:@]'; then
			echo "devices left in ${ns:-the root namespace}"
			return 1
		fi
	done
	expect_fail udp_bound 51850
	expect_fail udp_bound 51851
}

run_case "modprobe $WG_MODULE" t_load
run_case "every field round-trips through showconf, host bits masked" t_roundtrip
run_case "setconf replaces peers" t_setconf_replaces
run_case "addconf adds peers and prefixes" t_addconf_adds
run_case "syncconf ends up exactly as the file" t_syncconf
run_case "set peer remove" t_set_peer_remove
run_case "the device's own public key is never a peer" t_own_public_key
run_case "an all-zero private key clears it" t_zero_private_key
run_case "listen-port 0 binds a real port" t_listen_port_zero
run_case "second device on a taken port fails, first keeps it" t_port_conflict
run_case "changing the port while up rebinds" t_port_rebind
run_case "5000 peers x 20 prefixes round-trip, split dump" t_big_config
run_case "one peer with 5000 prefixes: dump resumes mid-peer" t_big_peer
run_case "100 devices created and deleted" t_many_devices
run_case "device moved to another netns keeps its config" t_netns_move
run_case "modprobe -r with devices in several namespaces" t_unload_with_devices
rm -rf "$TMP"
ktap_finished
