//! The deterministic random source of the unit tests' mutation loops.

/// Marsaglia's xorshift64 from `seed` (non-zero): fixed sequences, no dependency.
pub(crate) fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}
