#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Generic netlink validation, driven by wgnl (selftests/tools/wgnl.c), which
# can send what the wg tool cannot.  Every malformed request must be refused
# with an extended ack message that names the problem, and must leave the
# configuration exactly as it was (`wg showconf` before and after).  Also:
# the per-allowed-IP remove flag, and that an unprivileged user can neither
# change nor read a device.
. /selftests/lib.sh

WGNL=${WGNL:-/usr/bin/wgnl}
NOBODY=65534

# errno texts (strerror) the UAPI header promises
E_INVAL='Invalid argument|Numerical result out of range'	# EINVAL, ERANGE
E_OPNOTSUPP='Operation not supported'
E_NODEV='No such device'
E_BADR='Invalid request descriptor'				# EBADR
E_PFNOSUPPORT='Protocol family not supported'
E_PERM='Operation not permitted'
E_AFNOSUPPORT='Address family not supported by protocol'

# Loose patterns for the (lower-cased) extack messages.
M_KEY='key|psk|len|size|range'
M_CIDR='cidr|mask|prefix|range|len'
M_ADDR='addr|len|size|family|range'
M_FAMILY='family|support'
M_FLAGS='flag|bit|reserved|range|mask|unknown|support'
M_VERSION='version|protocol'
M_ENDPOINT='endpoint|len|size|addr|family'

ktap_plan 22

TMP=$(mktemp -d /tmp/wg-netlink.XXXXXX)
wg_keypair DEV_PRIV DEV_PUB
wg_keypair P1_PRIV P1
wg_keypair P2_PRIV P2
wg_keypair P3_PRIV P3		# never part of the base configuration
PSK=$($WG genpsk)
PSK2=$($WG genpsk)

cat >"$TMP/base.conf" <<EOF
[Interface]
PrivateKey = $DEV_PRIV
ListenPort = 51820
FwMark = 0x42

[Peer]
PublicKey = $P1
PresharedKey = $PSK
Endpoint = 192.0.2.1:51820
PersistentKeepalive = 25
AllowedIPs = 10.0.0.0/24, 10.0.1.0/24, fd00::/64

[Peer]
PublicKey = $P2
Endpoint = [2001:db8::2]:51821
AllowedIPs = 10.0.2.0/24, fd00:2::/64
EOF

# base_dev: wg0 in the root namespace with base.conf; BEFORE is its showconf.
base_dev()
{
	[ -x "$WGNL" ] || skip "$WGNL missing"
	test -d "/sys/module/$WG_MODULE" || load_wg
	link_add wg0 type "$WG_KIND"
	$WG setconf wg0 "$TMP/base.conf"
	BEFORE=$($WG showconf wg0)
}

# reject ERRNO-REGEX MESSAGE-REGEX WGNL-ARGS...: wgnl is refused with an
# errno matching ERRNO-REGEX and an extack message whose lower-cased text
# matches MESSAGE-REGEX; wg0 is left exactly as it was.
reject()
{
	local errre=$1 msgre=$2 out rc=0 msg line re='^error: [^(]*\((.*)\)$'
	shift 2
	out=$($WGNL "$@" 2>&1) || rc=$?
	printf 'wgnl %s\n%s\n' "$*" "$out"
	assert_eq "$rc" 1 "wgnl exit status" || return 1
	# Shell builtins only (a process costs 0.1 s on the debug kernel).
	assert_match "${out%%$'\n'*}" "^error: ($errre)( \(|$)" "errno" || return 1
	msg=''
	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			msg=${BASH_REMATCH[1]}
		fi
	done <<<"$out"
	if [ -z "$msg" ]; then
		echo "no extack message"
		return 1
	fi
	assert_match "${msg,,}" "$msgre" "extack message" || return 1
	assert_eq "$($WG showconf wg0)" "$BEFORE" \
		"configuration after the refused request"
}

# allowed_ips PUBKEY: the peer's prefixes, sorted, on one line.
allowed_ips()
{
	$WG show wg0 allowed-ips |
		awk -v k="$1" '$1 == k { for (i = 2; i <= NF; i++) print $i }' |
		LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}

# showconf without the AllowedIPs lines
conf_sans_ips()
{
	grep -v '^AllowedIPs'
}

t_load()
{
	# The in-tree module registers the same genl family; it must not be
	# the one answering.
	modprobe -r "$WG_REF_MODULE" 2>/dev/null || true
	load_wg
	test -d "/sys/module/$WG_MODULE"
	[ -x "$WGNL" ] || skip "$WGNL missing"
	link_add wg0 type "$WG_KIND"
	$WGNL set wg0 listen-port 51999
	assert_eq "$($WG show wg0 listen-port)" 51999 "listen port set by wgnl"
	$WGNL dump wg0
}

t_private_key_len()
{
	base_dev
	reject "$E_INVAL" "$M_KEY" set wg0 private-key "$P3_PRIV" --key-len 31
	reject "$E_INVAL" "$M_KEY" set wg0 private-key "$P3_PRIV" --key-len 33
	reject "$E_INVAL" "$M_KEY" set wg0 --key-len 0
}

t_peer_key_len()
{
	base_dev
	reject "$E_INVAL" "$M_KEY" set wg0 peer "$P3" --key-len 31 allowedip 10.9.0.0/24
	reject "$E_INVAL" "$M_KEY" set wg0 peer "$P1" --key-len 33 allowedip 10.9.0.0/24
	reject "$E_INVAL" "$M_KEY" set wg0 peer "$P1" --key-len 0 remove
}

t_psk_len()
{
	base_dev
	reject "$E_INVAL" "$M_KEY" set wg0 peer "$P1" preshared-key "$PSK2" --psk-len 31
	reject "$E_INVAL" "$M_KEY" set wg0 peer "$P1" preshared-key "$PSK2" --psk-len 33
	reject "$E_INVAL" "$M_KEY" set wg0 peer "$P3" preshared-key "$PSK2" --psk-len 16
}

t_cidr_too_long()
{
	base_dev
	reject "$E_INVAL" "$M_CIDR" set wg0 peer "$P1" allowedip 10.9.0.0/24 --cidr 33
	reject "$E_INVAL" "$M_CIDR" set wg0 peer "$P1" allowedip fd09::/64 --cidr 129
	reject "$E_INVAL" "$M_CIDR" set wg0 peer "$P1" allowedip 10.9.0.0/24 --cidr 255
}

t_ipaddr_len()
{
	base_dev
	reject "$E_INVAL" "$M_ADDR" set wg0 peer "$P1" allowedip 10.9.0.0/24 --addr-len 16
	reject "$E_INVAL" "$M_ADDR" set wg0 peer "$P1" allowedip fd09::/64 --addr-len 4
	reject "$E_INVAL" "$M_ADDR" set wg0 peer "$P1" allowedip 10.9.0.0/24 --addr-len 5
	reject "$E_INVAL" "$M_ADDR" set wg0 peer "$P1" allowedip fd09::/64 --addr-len 15
}

t_unknown_family()
{
	base_dev
	reject "$E_INVAL|$E_AFNOSUPPORT" "$M_FAMILY" \
		set wg0 peer "$P1" allowedip 10.9.0.0/24 --family 77
	# AF_UNIX (1) with a 4-byte address is no better
	reject "$E_INVAL|$E_AFNOSUPPORT" "$M_FAMILY" \
		set wg0 peer "$P1" allowedip 10.9.0.0/24 --family 1
}

t_device_flags()
{
	base_dev
	reject "$E_INVAL" "$M_FLAGS" set wg0 --device-flags 0x2
	reject "$E_INVAL" "$M_FLAGS" set wg0 --device-flags 0x80000001 \
		peer "$P3" allowedip 10.9.0.0/24
}

t_peer_flags()
{
	base_dev
	reject "$E_INVAL" "$M_FLAGS" set wg0 peer "$P1" --peer-flags 0x8
	reject "$E_INVAL" "$M_FLAGS" set wg0 peer "$P1" --peer-flags 0x80000001
}

t_allowedip_flags()
{
	base_dev
	reject "$E_INVAL" "$M_FLAGS" \
		set wg0 peer "$P1" allowedip 10.0.0.0/24 --allowedip-flags 0x2
	reject "$E_INVAL" "$M_FLAGS" \
		set wg0 peer "$P1" allowedip 10.0.0.0/24 --allowedip-flags 0x80000001
}

t_protocol_version()
{
	base_dev
	reject "$E_PFNOSUPPORT|$E_INVAL" "$M_VERSION" set wg0 peer "$P1" --protocol-version 2
	reject "$E_PFNOSUPPORT|$E_INVAL" "$M_VERSION" set wg0 peer "$P3" --protocol-version 0 \
		allowedip 10.9.0.0/24
	# 1 is the only version, and it is accepted
	$WGNL set wg0 peer "$P1" --protocol-version 1
	assert_eq "$($WG showconf wg0)" "$BEFORE" "configuration after a no-op request"
}

t_endpoint_len()
{
	local re=$M_ENDPOINT e="$E_INVAL|$E_AFNOSUPPORT"
	base_dev
	reject "$e" "$re" \
		set wg0 peer "$P1" endpoint 192.0.2.9:1 --endpoint-len 15
	reject "$e" "$re" \
		set wg0 peer "$P1" endpoint '[2001:db8::9]:1' --endpoint-len 27
	# the length of a sockaddr_in6 with sa_family AF_INET
	reject "$e" "$re" \
		set wg0 peer "$P1" endpoint 192.0.2.9:1 --endpoint-len 28
	reject "$e" "$re" \
		set wg0 peer "$P1" endpoint 192.0.2.9:1 --endpoint-family 77
	reject "$e" "$re" \
		set wg0 peer "$P1" --endpoint-len 0
}

t_not_wg_ifname()
{
	local re='wireguard|wg|device|interface|kind|type|link'
	base_dev
	reject "$E_OPNOTSUPP" "$re" set lo listen-port 51998
	reject "$E_OPNOTSUPP" "$re" dump lo
	if modprobe -q dummy 2>/dev/null && link_add wgnl-dummy0 type dummy; then
		reject "$E_OPNOTSUPP" "$re" set wgnl-dummy0 listen-port 51998
	fi
	reject "$E_NODEV" "$re|exist|found" set wgnl-nosuchdev listen-port 51998
	reject "$E_NODEV" "$re|exist|found" dump wgnl-nosuchdev
}

t_not_wg_ifindex()
{
	local re='wireguard|wg|device|interface|kind|type|link|index'
	local lo_idx wg_idx
	base_dev
	lo_idx=$(cat /sys/class/net/lo/ifindex)
	wg_idx=$(cat /sys/class/net/wg0/ifindex)
	reject "$E_OPNOTSUPP" "$re" set --ifindex "$lo_idx" listen-port 51998
	reject "$E_OPNOTSUPP" "$re" dump --ifindex "$lo_idx"
	# both names, or neither: EBADR
	reject "$E_BADR|$E_INVAL" "$re|name|both" set wg0 --ifindex "$wg_idx" listen-port 51998
	reject "$E_BADR|$E_INVAL" "$re|name|missing|required" set listen-port 51998
	# the index of the wg device itself works
	$WGNL set --ifindex "$wg_idx" listen-port 51820
	assert_eq "$($WG showconf wg0)" "$BEFORE" "configuration after setting the same port"
}

t_second_peer_bad()
{
	base_dev
	# a new peer, then a bad one
	reject "$E_INVAL" "$M_KEY" \
		set wg0 peer "$P3" allowedip 10.9.0.0/24 \
		peer "$P2" preshared-key "$PSK2" --psk-len 31
	# a change to an existing peer, then a bad prefix in another
	reject "$E_INVAL" "$M_CIDR" \
		set wg0 peer "$P1" endpoint 192.0.2.99:1 allowedip 10.9.9.0/24 \
		peer "$P3" allowedip 10.8.0.0/24 --cidr 33
	# device changes and REPLACE_PEERS, then a bad peer: nothing happens
	reject "$E_INVAL" "$M_KEY" \
		set wg0 listen-port 51997 fwmark 7 private-key "$P3_PRIV" replace-peers \
		peer "$P1" remove peer "$P3" --key-len 31
}

t_missing_peer_key()
{
	base_dev
	reject "$E_INVAL" 'key|missing|required|public' set wg0 peer none allowedip 10.9.0.0/24
	reject "$E_INVAL" 'key|missing|required|public' \
		set wg0 peer "$P3" allowedip 10.9.0.0/24 peer none
}

t_missing_allowedip_attrs()
{
	local re='family|addr|cidr|mask|missing|required'
	base_dev
	reject "$E_INVAL" "$re" set wg0 peer "$P1" allowedip 10.9.0.0/24 --no-family
	reject "$E_INVAL" "$re" set wg0 peer "$P1" allowedip 10.9.0.0/24 --no-addr
	reject "$E_INVAL" "$re" set wg0 peer "$P1" allowedip 10.9.0.0/24 --no-cidr
}

t_strict_parsing()
{
	base_dev
	# nests without NLA_F_NESTED
	reject "$E_INVAL" 'nest|attribute|type' --no-nest-flag \
		set wg0 peer "$P3" allowedip 10.9.0.0/24
	# unknown attribute types at each level
	reject "$E_INVAL" 'unknown|attribute|type|unexpected' set wg0 --attr 9 00000000
	reject "$E_INVAL" 'unknown|attribute|type|unexpected' set wg0 peer "$P1" --attr 11 00000000
	reject "$E_INVAL" 'unknown|attribute|type|unexpected' \
		set wg0 peer "$P1" allowedip 10.9.0.0/24 --attr 5 00000000
	# a listen port of the wrong size
	reject "$E_INVAL" 'port|len|size|range|attribute' set wg0 --attr 6 cbcacbca
}

t_allowedip_remove()
{
	base_dev
	$WGNL set wg0 peer "$P1" allowedip 10.0.1.0/24 remove
	assert_eq "$(allowed_ips "$P1")" "10.0.0.0/24 fd00::/64" "first peer"
	assert_eq "$(allowed_ips "$P2")" "10.0.2.0/24 fd00:2::/64" "second peer"
	assert_eq "$($WG showconf wg0 | conf_sans_ips)" \
		"$(printf '%s\n' "$BEFORE" | conf_sans_ips)" "rest of the configuration"
	# host bits are ignored, as when adding
	$WGNL set wg0 peer "$P1" allowedip fd00::1:2/64 remove
	assert_eq "$(allowed_ips "$P1")" "10.0.0.0/24" "first peer after removing v6"
	# removing and adding in one request
	$WGNL set wg0 peer "$P1" allowedip 10.0.0.0/24 remove allowedip 10.0.5.0/24
	assert_eq "$(allowed_ips "$P1")" "10.0.5.0/24" "first peer after remove+add"
	assert_eq "$(allowed_ips "$P2")" "10.0.2.0/24 fd00:2::/64" "second peer at the end"
}

t_allowedip_remove_absent()
{
	base_dev
	# owned by the other peer: it keeps it
	$WGNL set wg0 peer "$P1" allowedip 10.0.2.0/24 remove
	# owned by nobody
	$WGNL set wg0 peer "$P1" allowedip 10.77.0.0/16 remove allowedip fd77::/48 remove
	# more or less specific than a prefix the peer owns
	$WGNL set wg0 peer "$P1" allowedip 10.0.0.0/25 remove allowedip 10.0.0.0/23 remove
	$WGNL set wg0 peer "$P1" allowedip fd00::/65 remove allowedip fd00::/63 remove
	assert_eq "$($WG showconf wg0)" "$BEFORE" "configuration"
}

t_unprivileged()
{
	local out rc
	base_dev
	$WGNL --as-user $NOBODY exec id
	rc=0
	out=$($WGNL --as-user $NOBODY set wg0 listen-port 51998 2>&1) || rc=$?
	echo "set as nobody: $out"
	assert_eq "$rc" 1 "wgnl set exit status"
	assert_match "$out" "^error: $E_PERM" "wgnl set as nobody"
	rc=0
	out=$($WGNL --as-user $NOBODY set wg0 peer "$P3" allowedip 10.9.0.0/24 2>&1) || rc=$?
	assert_eq "$rc" 1 "wgnl set peer exit status"
	assert_match "$out" "^error: $E_PERM" "wgnl set peer as nobody"
	rc=0
	out=$($WGNL --as-user $NOBODY dump wg0 2>&1) || rc=$?
	echo "dump as nobody: $out"
	assert_eq "$rc" 1 "wgnl dump exit status"
	assert_match "$out" "^error: $E_PERM" "wgnl dump as nobody"
	rc=0
	out=$($WGNL --as-user $NOBODY exec $WG show wg0 2>&1) || rc=$?
	echo "wg show as nobody: $out"
	[ "$rc" -ne 0 ] || { echo "wg show succeeded as nobody"; return 1; }
	assert_match "$out" "$E_PERM" "wg show as nobody"
	expect_fail $WGNL --as-user $NOBODY exec $WG showconf wg0 >/dev/null 2>&1
	assert_eq "$($WG showconf wg0)" "$BEFORE" "configuration"
}

# A smoke run of the fuzzer (a longer one belongs to its own test): every
# reply is an ack or an error, and the device still answers afterwards.
t_fuzz()
{
	local out sum acc rej
	base_dev
	$IP link set wg0 up
	out=$($WGNL fuzz --seed 1 --count 300 wg0)
	echo "$out"
	# "fuzz: seed 1, 300 requests (R rare shapes), A accepted (S sets), J rejected":
	# every request answered, and the mix exercised both outcomes.
	sum=$(printf '%s\n' "$out" | sed -n \
		's/^fuzz: seed 1, 300 requests ([0-9]* rare shapes), \([0-9]*\) accepted ([0-9]* sets), \([0-9]*\) rejected$/\1 \2/p')
	[ -n "$sum" ] || { echo "no fuzz summary line"; return 1; }
	read -r acc rej <<<"$sum"
	assert_eq $((acc + rej)) 300 "accepted + rejected"
	[ "$acc" -gt 0 ] || { echo "no request was accepted"; return 1; }
	[ "$rej" -gt 0 ] || { echo "no request was rejected"; return 1; }
	assert_eq "$(printf '%s\n' "$out" | awk '/^fuzz: errno [0-9]+ / { n += $NF } END { print n + 0 }')" \
		"$rej" "rejections by errno"
	$WG showconf wg0 >/dev/null
	$WGNL dump wg0
	$IP link del wg0
	expect_fail test -e /sys/class/net/wg0
}

run_case "modprobe $WG_MODULE, wgnl works" t_load
run_case "private key of the wrong length" t_private_key_len
run_case "peer public key of the wrong length" t_peer_key_len
run_case "preshared key of the wrong length" t_psk_len
run_case "cidr 33 (v4) and 129 (v6)" t_cidr_too_long
run_case "address length does not match the family" t_ipaddr_len
run_case "unknown address family" t_unknown_family
run_case "unknown device flag bits" t_device_flags
run_case "unknown peer flag bits" t_peer_flags
run_case "unknown allowed-IP flag bits" t_allowedip_flags
run_case "protocol version other than 1" t_protocol_version
run_case "endpoint of a bad length or family" t_endpoint_len
run_case "ifname of a device that is not wg" t_not_wg_ifname
run_case "ifindex of a device that is not wg" t_not_wg_ifindex
run_case "second peer bad: first not applied" t_second_peer_bad
run_case "peer without public key" t_missing_peer_key
run_case "allowed IP without family, address or mask" t_missing_allowedip_attrs
run_case "strict parsing: NLA_F_NESTED, unknown attributes" t_strict_parsing
run_case "allowed-IP remove flag removes exactly that prefix" t_allowedip_remove
run_case "removing a prefix the peer does not have is harmless" t_allowedip_remove_absent
run_case "unprivileged user can neither set nor read" t_unprivileged
run_case "fuzz: 300 random requests, device still answers" t_fuzz
rm -rf "$TMP"
ktap_finished
