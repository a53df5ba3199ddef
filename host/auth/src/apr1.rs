//! MD5-crypt: Apache's `$apr1$` (what `htpasswd -m` writes) and the BSD/glibc `$1$` it is
//! derived from. The two differ only in the magic string mixed into the digest.

use md5::{Digest, Md5};

/// The 64 characters crypt(3) encodes with, in order.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Longest salt MD5-crypt uses; longer salts are truncated.
pub(crate) const MAX_SALT: usize = 8;

/// Length of the encoded digest after the last `$`.
pub(crate) const DIGEST_LEN: usize = 22;

/// `true` if every byte of `s` is in the crypt(3) alphabet.
pub(crate) fn is_crypt64(s: &str) -> bool {
    s.bytes().all(|b| ITOA64.contains(&b))
}

/// The 22-character encoded digest of `password` with `salt` under `magic` (`"$apr1$"` or
/// `"$1$"`). The salt is cut at [`MAX_SALT`] bytes, as the C implementations do.
pub(crate) fn digest(magic: &str, password: &[u8], salt: &[u8]) -> String {
    let salt = &salt[..salt.len().min(MAX_SALT)];

    let mut alternate = Md5::new();
    alternate.update(password);
    alternate.update(salt);
    alternate.update(password);
    let alternate = alternate.finalize();

    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic.as_bytes());
    ctx.update(salt);
    let mut remaining = password.len();
    while remaining > 0 {
        let n = remaining.min(16);
        ctx.update(&alternate[..n]);
        remaining -= n;
    }
    // One byte per bit of the length: a NUL for a set bit, the first password byte otherwise.
    let first = password.first().copied().unwrap_or(0);
    let mut bits = password.len();
    while bits != 0 {
        ctx.update([if bits & 1 == 1 { 0 } else { first }]);
        bits >>= 1;
    }
    let mut fin: [u8; 16] = ctx.finalize().into();

    // 1000 rounds to slow down brute force (by 1990s standards).
    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round % 2 == 1 {
            ctx.update(password);
        } else {
            ctx.update(fin);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round % 2 == 1 {
            ctx.update(fin);
        } else {
            ctx.update(password);
        }
        fin = ctx.finalize().into();
    }

    let mut out = String::with_capacity(DIGEST_LEN);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        let v = (u32::from(fin[a]) << 16) | (u32::from(fin[b]) << 8) | u32::from(fin[c]);
        push_crypt64(&mut out, v, 4);
    }
    push_crypt64(&mut out, u32::from(fin[11]), 2);
    out
}

fn push_crypt64(out: &mut String, mut v: u32, chars: usize) {
    for _ in 0..chars {
        out.push(char::from(ITOA64[(v & 0x3f) as usize]));
        v >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors made with `openssl passwd -apr1 -salt SALT PASSWORD` (OpenSSL 3.0).
    #[test]
    fn apr1_matches_openssl() {
        let vectors: [(&str, &str, &str); 4] = [
            ("password", "abcdefgh", "FBwExRW4dCc8aL.OvjpIE1"),
            ("sluice secret!", "x.y/Z", "pzeAyWjRWxm584DJ2s1ub0"),
            ("", "12345678", "sHuPAw7VA9xjRbJz7zKV7/"),
            (
                "a-much-longer-password-that-exceeds-sixteen-bytes",
                "Ab",
                "97kHmM/nQMWm59LAzwZqU/",
            ),
        ];
        for (password, salt, want) in vectors {
            assert_eq!(
                digest("$apr1$", password.as_bytes(), salt.as_bytes()),
                want,
                "password {password:?} salt {salt:?}"
            );
        }
    }

    /// `openssl passwd -1 -salt saltsalt hunter2`.
    #[test]
    fn md5_crypt_matches_openssl() {
        assert_eq!(
            digest("$1$", b"hunter2", b"saltsalt"),
            "ZliGyAN3DciDHEkDboonh/"
        );
    }

    #[test]
    fn salt_is_cut_at_eight_bytes() {
        assert_eq!(
            digest("$apr1$", b"password", b"abcdefghIGNORED"),
            "FBwExRW4dCc8aL.OvjpIE1"
        );
    }

    #[test]
    fn crypt64_alphabet() {
        assert!(is_crypt64("./09AZaz"));
        assert!(!is_crypt64("a+b"));
    }
}
