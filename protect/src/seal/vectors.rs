//! Published test vectors for every primitive of the seal, run through the
//! same wrappers the envelope code uses. Each table was typed from its RFC
//! and cross-checked against an independent implementation.

use x25519_dalek::{PublicKey, StaticSecret, x25519};

use super::TenantSecretKey;
use super::protocol::{MessageKey, aead_open, aead_seal, hkdf_sha256, recipient_shared_secret};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("valid hex in a test vector")
}

fn h32(s: &str) -> [u8; 32] {
    h(s).try_into().expect("32 bytes")
}

/// RFC 7748 section 5.2: (scalar, u-coordinate, output).
const X25519_VECTORS: &[(&str, &str, &str)] = &[
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    ),
];

/// RFC 7748 section 5.2, iterated: k = u = 9, then (k, u) = (X25519(k, u), k).
const X25519_ITERATED_1: &str = "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079";
const X25519_ITERATED_1000: &str =
    "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";

/// RFC 7748 section 6.1: Alice's and Bob's key pairs and their shared secret.
const ALICE_PRIVATE: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const ALICE_PUBLIC: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
const BOB_PRIVATE: &str = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
const BOB_PUBLIC: &str = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const SHARED_SECRET: &str = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

#[test]
fn x25519_rfc7748_section_5_2() {
    for (scalar, u, out) in X25519_VECTORS {
        assert_eq!(x25519(h32(scalar), h32(u)), h32(out));
        let secret = StaticSecret::from(h32(scalar));
        let shared = secret.diffie_hellman(&PublicKey::from(h32(u)));
        assert_eq!(shared.as_bytes(), &h32(out));
    }
}

#[test]
fn x25519_rfc7748_section_5_2_iterated() {
    let mut k = [0u8; 32];
    k[0] = 9;
    let mut u = k;
    for i in 1..=1000 {
        let r = x25519(k, u);
        u = k;
        k = r;
        if i == 1 {
            assert_eq!(k, h32(X25519_ITERATED_1));
        }
    }
    assert_eq!(k, h32(X25519_ITERATED_1000));
}

#[test]
fn x25519_rfc7748_section_6_1() {
    let mut alice = h32(ALICE_PRIVATE);
    let mut bob = h32(BOB_PRIVATE);
    let alice = TenantSecretKey::from_bytes(&mut alice);
    let bob = TenantSecretKey::from_bytes(&mut bob);
    assert_eq!(alice.public_key().to_bytes(), h32(ALICE_PUBLIC));
    assert_eq!(bob.public_key().to_bytes(), h32(BOB_PUBLIC));
    let ab = recipient_shared_secret(alice.x25519(), &h32(BOB_PUBLIC)).unwrap();
    let ba = recipient_shared_secret(bob.x25519(), &h32(ALICE_PUBLIC)).unwrap();
    assert_eq!(ab.as_bytes(), &h32(SHARED_SECRET));
    assert_eq!(ba.as_bytes(), &h32(SHARED_SECRET));
    // A low-order point (here zero) gives the all-zero secret: refused.
    assert!(recipient_shared_secret(alice.x25519(), &[0u8; 32]).is_err());
}

struct HkdfVector {
    ikm: &'static str,
    salt: &'static str,
    info: &'static str,
    prk: &'static str,
    okm: &'static str,
}

/// RFC 5869 appendix A, test cases 1 to 3 (SHA-256).
const HKDF_VECTORS: &[HkdfVector] = &[
    HkdfVector {
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "000102030405060708090a0b0c",
        info: "f0f1f2f3f4f5f6f7f8f9",
        prk: "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        okm: "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
              34007208d5b887185865",
    },
    HkdfVector {
        ikm: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\
              202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\
              404142434445464748494a4b4c4d4e4f",
        salt: "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f\
               808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
               a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        info: "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf\
               d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef\
               f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        prk: "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        okm: "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
              59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
              cc30c58179ec3e87c14c01d5c1f3434f1d87",
    },
    HkdfVector {
        ikm: "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        salt: "",
        info: "",
        prk: "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        okm: "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
              9d201395faa4b61a96c8",
    },
];

#[test]
fn hkdf_sha256_rfc5869_appendix_a() {
    for v in HKDF_VECTORS {
        let mut okm = vec![0u8; h(v.okm).len()];
        hkdf_sha256(&h(v.salt), &h(v.ikm), &h(v.info), &mut okm);
        assert_eq!(okm, h(v.okm));
        // Extract alone: expanding the PRK gives the same output.
        let mut again = vec![0u8; okm.len()];
        hkdf::Hkdf::<sha2::Sha256>::from_prk(&h(v.prk))
            .unwrap()
            .expand(&h(v.info), &mut again)
            .unwrap();
        assert_eq!(again, okm);
        let (prk, _) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(&h(v.salt)), &h(v.ikm));
        assert_eq!(prk.as_slice(), h(v.prk).as_slice());
    }
}

struct GcmSivVector {
    key: &'static str,
    nonce: &'static str,
    aad: &'static str,
    plaintext: &'static str,
    /// Ciphertext followed by the 16-byte tag.
    ciphertext: &'static str,
}

/// RFC 8452 appendix C.2 (AEAD_AES_256_GCM_SIV).
const GCM_SIV_VECTORS: &[GcmSivVector] = &[
    GcmSivVector {
        key: "0100000000000000000000000000000000000000000000000000000000000000",
        nonce: "030000000000000000000000",
        aad: "",
        plaintext: "",
        ciphertext: "07f5f4169bbf55a8400cd47ea6fd400f",
    },
    GcmSivVector {
        key: "0100000000000000000000000000000000000000000000000000000000000000",
        nonce: "030000000000000000000000",
        aad: "",
        plaintext: "0100000000000000",
        ciphertext: "c2ef328e5c71c83b843122130f7364b761e0b97427e3df28",
    },
    GcmSivVector {
        key: "0100000000000000000000000000000000000000000000000000000000000000",
        nonce: "030000000000000000000000",
        aad: "",
        plaintext: "0100000000000000000000000000000002000000000000000000000000000000",
        ciphertext: "4a6a9db4c8c6549201b9edb53006cba821ec9cf850948a7c86c68ac7539d027fe819e63abcd020b006a976397632eb5d",
    },
    GcmSivVector {
        key: "0100000000000000000000000000000000000000000000000000000000000000",
        nonce: "030000000000000000000000",
        aad: "01",
        plaintext: "0200000000000000",
        ciphertext: "1de22967237a813291213f267e3b452f02d01ae33e4ec854",
    },
    GcmSivVector {
        key: "0100000000000000000000000000000000000000000000000000000000000000",
        nonce: "030000000000000000000000",
        aad: "010000000000000000000000",
        plaintext: "02000000",
        ciphertext: "22b3f4cd1835e517741dfddccfa07fa4661b74cf",
    },
    GcmSivVector {
        key: "0100000000000000000000000000000000000000000000000000000000000000",
        nonce: "030000000000000000000000",
        aad: "010000000000000000000000000000000200",
        plaintext: "0300000000000000000000000000000004000000",
        ciphertext: "43dd0163cdb48f9fe3212bf61b201976067f342bb879ad976d8242acc188ab59cabfe307",
    },
    GcmSivVector {
        key: "bae8e37fc83441b16034566b7a806c46bb91c3c5aedb64a6c590bc84d1a5e269",
        nonce: "e4b47801afc0577e34699b9e",
        aad: "4fbdc66f14",
        plaintext: "671fdd",
        ciphertext: "0eaccb93da9bb81333aee0c785b240d319719d",
    },
    GcmSivVector {
        key: "3c535de192eaed3822a2fbbe2ca9dfc88255e14a661b8aa82cc54236093bbc23",
        nonce: "688089e55540db1872504e1c",
        aad: "734320ccc9d9bbbb19cb81b2af4ecbc3e72834321f7aa0f70b7282b4f33df23f167541",
        plaintext: "ced532ce4159b035277d4dfbb7db62968b13cd4eec",
        ciphertext: "626660c26ea6612fb17ad91e8e767639edd6c9faee9d6c7029675b89eaf4ba1ded1a286594",
    },
];

#[test]
fn aes_256_gcm_siv_rfc8452_appendix_c2() {
    for v in GCM_SIV_VECTORS {
        let key = MessageKey::from_parts(&h32(v.key), &h(v.nonce).try_into().unwrap());
        let mut buffer = h(v.plaintext);
        aead_seal(&key, &h(v.aad), &mut buffer);
        assert_eq!(buffer, h(v.ciphertext));
        aead_open(&key, &h(v.aad), &mut buffer).unwrap();
        assert_eq!(buffer, h(v.plaintext));
        // Any altered tag byte is refused.
        let mut forged = h(v.ciphertext);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(aead_open(&key, &h(v.aad), &mut forged).is_err());
    }
}
