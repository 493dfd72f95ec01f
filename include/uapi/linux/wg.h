/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * WireGuard configuration interface.
 *
 * Everything goes through one generic netlink family, named WG_GENL_NAME
 * ("wireguard"), version WG_GENL_VERSION (1).  The family has no multicast
 * groups and no user header.  It is available in every network namespace,
 * and each request acts on a device of the namespace of the requesting
 * socket.  Both commands require CAP_NET_ADMIN in the user namespace that
 * owns that network namespace; changing the listen port or the fwmark also
 * requires CAP_NET_ADMIN over the namespace the device was created in,
 * because that is where its UDP sockets live.
 *
 * Naming the device
 * -----------------
 * Every request carries exactly one of
 *
 *   WGDEVICE_A_IFINDEX   NLA_U32     interface index
 *   WGDEVICE_A_IFNAME    NLA_NUL_STRING, at most IFNAMSIZ - 1 characters
 *
 * Both or neither fail with EBADR; an unknown device fails with ENODEV; a
 * device of another kind fails with EOPNOTSUPP.
 *
 * WG_CMD_GET_DEVICE (dump only: NLM_F_REQUEST | NLM_F_DUMP)
 * ---------------------------------------------------------
 * Reads the whole configuration and state of one device.  The reply is a
 * series of NLM_F_MULTI messages, each carrying WGDEVICE_A_IFINDEX and
 * WGDEVICE_A_IFNAME, terminated by NLMSG_DONE.  The first message also holds
 *
 *   WGDEVICE_A_PRIVATE_KEY  WG_KEY_LEN bytes, only if a key is set
 *   WGDEVICE_A_PUBLIC_KEY   WG_KEY_LEN bytes, only if a key is set
 *   WGDEVICE_A_LISTEN_PORT  NLA_U16, host order; 0 means "not yet chosen"
 *   WGDEVICE_A_FWMARK       NLA_U32, 0 means none
 *
 * and every message may hold
 *
 *   WGDEVICE_A_PEERS        NLA_NESTED array, one entry per peer:
 *     WGPEER_A_PUBLIC_KEY                    WG_KEY_LEN bytes
 *     WGPEER_A_PRESHARED_KEY                 WG_KEY_LEN bytes, all zero when
 *                                            unset
 *     WGPEER_A_ENDPOINT                      struct sockaddr_in (16 bytes) or
 *                                            struct sockaddr_in6 (28 bytes),
 *                                            absent if unknown
 *     WGPEER_A_LAST_HANDSHAKE_TIME           struct __kernel_timespec
 *                                            (16 bytes), wall clock; zero if
 *                                            there was no handshake yet
 *     WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL NLA_U16 seconds, 0 is off
 *     WGPEER_A_RX_BYTES                      NLA_U64
 *     WGPEER_A_TX_BYTES                      NLA_U64
 *     WGPEER_A_PROTOCOL_VERSION              NLA_U32, always 1
 *     WGPEER_A_ALLOWEDIPS                    NLA_NESTED array, one entry per
 *                                            prefix:
 *       WGALLOWEDIP_A_FAMILY                 NLA_U16, AF_INET or AF_INET6
 *       WGALLOWEDIP_A_IPADDR                 struct in_addr (4 bytes) or
 *                                            struct in6_addr (16 bytes)
 *       WGALLOWEDIP_A_CIDR_MASK              NLA_U8, prefix length
 *
 * The index (attribute type) of array entries carries no meaning.  64-bit
 * counters may be preceded by padding attributes of type 0, to be ignored.
 *
 * Split dumps: when a message is full, the next one continues where it
 * stopped, possibly in the middle of a peer's allowed IPs.  A peer continued
 * in this way appears again with only WGPEER_A_PUBLIC_KEY and the remaining
 * WGPEER_A_ALLOWEDIPS entries, so a reader merges consecutive entries with
 * the same public key.  If the configuration changes between two messages,
 * the message that notices it carries NLM_F_DUMP_INTR and the dump ends
 * early; the reader should discard what it got and start over.
 *
 * WG_CMD_SET_DEVICE (NLM_F_REQUEST, usually with NLM_F_ACK)
 * --------------------------------------------------------
 * Changes the configuration.  Besides the device name or index, all of
 * these are optional:
 *
 *   WGDEVICE_A_PRIVATE_KEY  WG_KEY_LEN bytes; all zero removes the key.  A
 *                           peer whose public key is the new public key of
 *                           the device is removed.
 *   WGDEVICE_A_LISTEN_PORT  NLA_U16; 0 picks a free port when the device is
 *                           up.  A port that cannot be bound fails the whole
 *                           request (EADDRINUSE and the like).
 *   WGDEVICE_A_FWMARK       NLA_U32; 0 removes the mark.
 *   WGDEVICE_A_FLAGS        NLA_U32 of enum wgdevice_flag:
 *     WGDEVICE_F_REPLACE_PEERS  remove every peer before adding those below
 *   WGDEVICE_A_PEERS        NLA_NESTED array, one entry per peer:
 *     WGPEER_A_PUBLIC_KEY   WG_KEY_LEN bytes, required; picks the peer.  A
 *                           peer with the public key of the device itself is
 *                           silently skipped.
 *     WGPEER_A_FLAGS        NLA_U32 of enum wgpeer_flag:
 *       WGPEER_F_REMOVE_ME           remove this peer; other attributes are
 *                                    ignored; an unknown peer is no error
 *       WGPEER_F_REPLACE_ALLOWEDIPS  the peer ends up with exactly the
 *                                    prefixes of this entry; those it had
 *                                    keep routing to it until the new ones
 *                                    are in, so traffic never sees a gap
 *       WGPEER_F_UPDATE_ONLY         change the peer only if it exists;
 *                                    never create it
 *     WGPEER_A_PRESHARED_KEY WG_KEY_LEN bytes; all zero removes it
 *     WGPEER_A_ENDPOINT      struct sockaddr_in or struct sockaddr_in6, with
 *                            the matching length and sa_family
 *     WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL  NLA_U16 seconds; 0 turns it off
 *     WGPEER_A_PROTOCOL_VERSION  NLA_U32; if present it must be 1, anything
 *                            else fails with EPFNOSUPPORT
 *     WGPEER_A_ALLOWEDIPS    NLA_NESTED array of prefixes to add:
 *       WGALLOWEDIP_A_FAMILY     NLA_U16, AF_INET or AF_INET6, required
 *       WGALLOWEDIP_A_IPADDR     4 bytes for AF_INET, 16 for AF_INET6,
 *                                required; host bits are ignored
 *       WGALLOWEDIP_A_CIDR_MASK  NLA_U8, at most 32 or 128, required
 *       WGALLOWEDIP_A_FLAGS      NLA_U32 of enum wgallowedip_flag:
 *         WGALLOWEDIP_F_REMOVE_ME  remove this prefix from the peer instead
 *                                  of adding it; a prefix the peer does not
 *                                  own is no error
 *     WGPEER_A_LAST_HANDSHAKE_TIME, WGPEER_A_RX_BYTES and WGPEER_A_TX_BYTES
 *     are accepted with their dump types and ignored, so that a dumped peer
 *     can be sent back unchanged.
 *   WGDEVICE_A_PUBLIC_KEY is likewise accepted and ignored.
 *
 * Adding a prefix that belongs to another peer moves it to this one.  The
 * order of application is: listen port, fwmark, WGDEVICE_F_REPLACE_PEERS,
 * private key, then the peers in the order given.  A large configuration may
 * be spread over several requests; a peer may then appear again in a later
 * request with only its public key and more allowed IPs.
 *
 * Errors
 * ------
 * Requests are validated strictly: unknown attributes, attributes of the
 * wrong type or length, nested attributes without NLA_F_NESTED, flag bits
 * outside the __*_F_ALL masks and trailing garbage are all refused with
 * EINVAL or ERANGE.  The whole request is checked before anything changes,
 * so a refused request leaves the configuration as it was.  Once checked,
 * a request can still fail part way, with what came before the failure
 * applied, for three reasons only: lack of memory (ENOMEM), a device that
 * already has the maximum of 2^20 peers (ENOSPC), or a listen port that
 * cannot be bound; the port is bound before anything else is changed.  With
 * NETLINK_EXT_ACK set on the socket, an error carries a message and points at
 * the offending attribute (NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS), or names a
 * missing one (NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MISS_NEST).
 */

#ifndef _WG_UAPI_WIREGUARD_H
#define _WG_UAPI_WIREGUARD_H

#define WG_GENL_NAME "wireguard"
#define WG_GENL_VERSION 1

#define WG_KEY_LEN 32

enum wg_cmd {
	WG_CMD_GET_DEVICE,
	WG_CMD_SET_DEVICE,
	__WG_CMD_MAX
};

#define WG_CMD_MAX (__WG_CMD_MAX - 1)

enum wgdevice_flag {
	WGDEVICE_F_REPLACE_PEERS = 1U << 0,
	__WGDEVICE_F_ALL = WGDEVICE_F_REPLACE_PEERS
};

enum wgdevice_attribute {
	WGDEVICE_A_UNSPEC,
	WGDEVICE_A_IFINDEX,
	WGDEVICE_A_IFNAME,
	WGDEVICE_A_PRIVATE_KEY,
	WGDEVICE_A_PUBLIC_KEY,
	WGDEVICE_A_FLAGS,
	WGDEVICE_A_LISTEN_PORT,
	WGDEVICE_A_FWMARK,
	WGDEVICE_A_PEERS,
	__WGDEVICE_A_LAST
};

#define WGDEVICE_A_MAX (__WGDEVICE_A_LAST - 1)

enum wgpeer_flag {
	WGPEER_F_REMOVE_ME = 1U << 0,
	WGPEER_F_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_F_UPDATE_ONLY = 1U << 2,
	__WGPEER_F_ALL = WGPEER_F_REMOVE_ME | WGPEER_F_REPLACE_ALLOWEDIPS |
			 WGPEER_F_UPDATE_ONLY
};

enum wgpeer_attribute {
	WGPEER_A_UNSPEC,
	WGPEER_A_PUBLIC_KEY,
	WGPEER_A_PRESHARED_KEY,
	WGPEER_A_FLAGS,
	WGPEER_A_ENDPOINT,
	WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
	WGPEER_A_LAST_HANDSHAKE_TIME,
	WGPEER_A_RX_BYTES,
	WGPEER_A_TX_BYTES,
	WGPEER_A_ALLOWEDIPS,
	WGPEER_A_PROTOCOL_VERSION,
	__WGPEER_A_LAST
};

#define WGPEER_A_MAX (__WGPEER_A_LAST - 1)

enum wgallowedip_flag {
	WGALLOWEDIP_F_REMOVE_ME = 1U << 0,
	__WGALLOWEDIP_F_ALL = WGALLOWEDIP_F_REMOVE_ME
};

enum wgallowedip_attribute {
	WGALLOWEDIP_A_UNSPEC,
	WGALLOWEDIP_A_FAMILY,
	WGALLOWEDIP_A_IPADDR,
	WGALLOWEDIP_A_CIDR_MASK,
	WGALLOWEDIP_A_FLAGS,
	__WGALLOWEDIP_A_LAST
};

#define WGALLOWEDIP_A_MAX (__WGALLOWEDIP_A_LAST - 1)

#endif /* _WG_UAPI_WIREGUARD_H */
