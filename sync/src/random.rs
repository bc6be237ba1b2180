//! Randomness from the operating system for keys, nonces and identifiers.

/// `N` bytes from the OS CSPRNG. Panics if the OS cannot provide them: a
/// server that cannot draw keys must not go on.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).expect("the operating system's random number generator failed");
    out
}

/// A random identifier: 16 bytes as 32 hex digits.
pub fn id() -> String {
    hex::encode(bytes::<16>())
}
