#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# Known-answer vectors for module/core, computed by a second, independent
# implementation of the protocol: the WireGuard paper's handshake
# (Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s), its transport messages and its
# cookie replies, on top of Python's hashlib.blake2s and the cryptography
# package's X25519 and ChaCha20-Poly1305.  HChaCha20 (for the cookie
# reply's XChaCha20-Poly1305) follows draft-irtf-cfrg-xchacha.
#
# Usage: wg-kat.py [OUTPUT]   writes the C header (stdout without OUTPUT).
# selftests/run.sh compares the output with module/core/kat-vectors.h, and
# the debug build's core self-test checks the module against that header.

import hashlib
import hmac
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import (
    X25519PrivateKey, X25519PublicKey)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

CONSTRUCTION = b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
IDENTIFIER = b"WireGuard v1 zx2c4 Jason@zx2c4.com"
LABEL_MAC1 = b"mac1----"
LABEL_COOKIE = b"cookie--"


def blake_hash(data):
    return hashlib.blake2s(data).digest()


def blake_mac(key, data):
    return hashlib.blake2s(data, key=key, digest_size=16).digest()


def blake_hmac(key, data):
    return hmac.new(key, data, hashlib.blake2s).digest()


def kdf(n, chaining_key, data):
    """The paper's KDF_n: HKDF with HMAC-BLAKE2s, n outputs."""
    prk = blake_hmac(chaining_key, data)
    out, last = [], b""
    for i in range(1, n + 1):
        last = blake_hmac(prk, last + bytes([i]))
        out.append(last)
    return out


def pub(private):
    key = X25519PrivateKey.from_private_bytes(private).public_key()
    return key.public_bytes(serialization.Encoding.Raw,
                            serialization.PublicFormat.Raw)


def dh(private, public):
    return X25519PrivateKey.from_private_bytes(private).exchange(
        X25519PublicKey.from_public_bytes(public))


def aead_nonce(counter):
    return b"\0" * 4 + struct.pack("<Q", counter)


def seal(key, counter, plain, ad):
    return ChaCha20Poly1305(key).encrypt(aead_nonce(counter), plain, ad)


def rotl(v, n):
    return ((v << n) | (v >> (32 - n))) & 0xffffffff


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k"))
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))

    def quarter(a, b, c, d):
        s[a] = (s[a] + s[b]) & 0xffffffff
        s[d] = rotl(s[d] ^ s[a], 16)
        s[c] = (s[c] + s[d]) & 0xffffffff
        s[b] = rotl(s[b] ^ s[c], 12)
        s[a] = (s[a] + s[b]) & 0xffffffff
        s[d] = rotl(s[d] ^ s[a], 8)
        s[c] = (s[c] + s[d]) & 0xffffffff
        s[b] = rotl(s[b] ^ s[c], 7)

    for _ in range(10):
        quarter(0, 4, 8, 12)
        quarter(1, 5, 9, 13)
        quarter(2, 6, 10, 14)
        quarter(3, 7, 11, 15)
        quarter(0, 5, 10, 15)
        quarter(1, 6, 11, 12)
        quarter(2, 7, 8, 13)
        quarter(3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xseal(key, nonce24, plain, ad):
    subkey = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(subkey).encrypt(b"\0" * 4 + nonce24[16:],
                                            plain, ad)


def check_hchacha20():
    # draft-irtf-cfrg-xchacha-03, section 2.2.1.
    key = bytes(range(32))
    nonce = bytes.fromhex("000000090000004a0000000031415927")
    want = bytes.fromhex("82413b4227b27bfed30e42508a877d73"
                         "a0f9e4d58a74a853c12ec41326d3ecdc")
    assert hchacha20(key, nonce) == want, "HChaCha20 test vector"


def fixed(label):
    """A fixed 32-byte value, so that anyone can recompute the vectors."""
    return blake_hash(b"wg known-answer test: " + label)


def handshake():
    v = {}
    s_i, s_r = fixed(b"initiator static"), fixed(b"responder static")
    e_i, e_r = fixed(b"initiator ephemeral"), fixed(b"responder ephemeral")
    psk = fixed(b"pre-shared key")
    S_i, S_r, E_i, E_r = pub(s_i), pub(s_r), pub(e_i), pub(e_r)
    # TAI64N of 2021-01-01 00:00:00.123456789 UTC.
    stamp = struct.pack(">QI", (1 << 62) + 1609459200, 123456789)
    idx_i, idx_r = 0x11223344, 0x55667788

    # Initiator -> responder (paper, section 5.4.2).
    c = blake_hash(CONSTRUCTION)
    h = blake_hash(c + IDENTIFIER)
    h = blake_hash(h + S_r)
    c, = kdf(1, c, E_i)
    h = blake_hash(h + E_i)
    c, k = kdf(2, c, dh(e_i, S_r))
    enc_static = seal(k, 0, S_i, h)
    h = blake_hash(h + enc_static)
    c, k = kdf(2, c, dh(s_i, S_r))
    enc_stamp = seal(k, 0, stamp, h)
    h = blake_hash(h + enc_stamp)
    init = struct.pack("<I", 1) + struct.pack("<I", idx_i) + E_i + \
        enc_static + enc_stamp
    init += blake_mac(blake_hash(LABEL_MAC1 + S_r), init)
    init += b"\0" * 16
    assert len(init) == 148

    # Responder -> initiator (section 5.4.3).
    c, = kdf(1, c, E_r)
    h = blake_hash(h + E_r)
    c, = kdf(1, c, dh(e_r, E_i))
    c, = kdf(1, c, dh(e_r, S_i))
    c, t, k = kdf(3, c, psk)
    h = blake_hash(h + t)
    enc_empty = seal(k, 0, b"", h)
    h = blake_hash(h + enc_empty)
    resp = struct.pack("<III", 2, idx_r, idx_i) + E_r + enc_empty
    resp += blake_mac(blake_hash(LABEL_MAC1 + S_i), resp)
    resp += b"\0" * 16
    assert len(resp) == 92

    # Transport keys (section 5.4.5): the initiator sends with the first.
    i_send, i_recv = kdf(2, c, b"")

    # One transport message from the initiator (section 5.4.6): padded
    # to a multiple of 16, counter 7, to the responder's index.
    plain = b"known-answer transport payload!!"
    assert len(plain) % 16 == 0
    counter = 7
    data = struct.pack("<IIQ", 4, idx_r, counter) + \
        seal(i_send, counter, plain, b"")

    # A cookie reply to the initiation (section 5.4.7), from the
    # responder under load, for a source of 192.0.2.1 port 51820.
    secret = fixed(b"cookie secret")
    source = bytes([192, 0, 2, 1]) + struct.pack(">H", 51820)
    cookie = blake_mac(secret, source)
    nonce = fixed(b"cookie nonce")[:24]
    mac1 = init[116:132]
    reply = struct.pack("<II", 3, idx_i) + nonce + \
        xseal(blake_hash(LABEL_COOKIE + S_r), nonce, cookie, mac1)
    assert len(reply) == 64
    # The initiation sent again with that cookie: mac2.
    mac2 = blake_mac(cookie, init[:132])

    v.update(init_static=s_i, resp_static=s_r, init_ephemeral=e_i,
             resp_ephemeral=e_r, preshared=psk, init_public=S_i,
             resp_public=S_r, timestamp=stamp, initiation=init,
             response=resp, init_send=i_send, init_recv=i_recv,
             data_plain=plain, data=data, cookie_secret=secret,
             cookie_source=source, cookie=cookie, cookie_nonce=nonce,
             cookie_reply=reply, initiation_mac2=mac2)
    v["_init_index"], v["_resp_index"], v["_counter"] = idx_i, idx_r, counter
    return v


def header(v):
    out = ["/* SPDX-License-Identifier: GPL-2.0 */",
           "/*",
           " * Generated by selftests/tools/wg-kat.py: do not edit.  Known-answer",
           " * vectors for module/core from an independent implementation.",
           " */",
           "#ifndef _WG_CORE_KAT_VECTORS_H",
           "#define _WG_CORE_KAT_VECTORS_H",
           "",
           "#define KAT_INIT_INDEX 0x%08xU" % v["_init_index"],
           "#define KAT_RESP_INDEX 0x%08xU" % v["_resp_index"],
           "#define KAT_DATA_COUNTER %uULL" % v["_counter"],
           ""]
    for name, data in v.items():
        if name.startswith("_"):
            continue
        out.append("static const u8 kat_%s[%d] = {" % (name, len(data)))
        for i in range(0, len(data), 12):
            row = ", ".join("0x%02x" % b for b in data[i:i + 12])
            out.append("\t" + row + ",")
        out.append("};")
        out.append("")
    out.append("#endif /* _WG_CORE_KAT_VECTORS_H */")
    return "\n".join(out) + "\n"


def main():
    check_hchacha20()
    text = header(handshake())
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
