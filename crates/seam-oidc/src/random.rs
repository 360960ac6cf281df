//! Randomness for states, nonces and PKCE verifiers.
//!
//! Every function that draws random bytes takes a [`Random`], so that tests run on a fixed
//! sequence and production on the operating system's generator ([`OsRandom`]). The trait has
//! the shape of `seam_access::Random`: a service adapts one to the other in three lines.

use ring::rand::SecureRandom as _;

/// A source of unpredictable bytes.
pub trait Random {
    /// Fills `bytes` entirely, or fails: never a partial or predictable fill.
    fn fill(&mut self, bytes: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's generator (through `ring`, which reads `getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, bytes: &mut [u8]) -> Result<(), RandomError> {
        ring::rand::SystemRandom::new()
            .fill(bytes)
            .map_err(|_| RandomError {
                reason: "the system generator gave no bytes".into(),
            })
    }
}

/// The generator failed: no sign-in can start until it works again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the random generator failed: {reason}")]
pub struct RandomError {
    pub reason: String,
}

pub(crate) fn random_bytes<const N: usize>(
    random: &mut dyn Random,
) -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    random.fill(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{Random, RandomError};

    /// A predictable generator for tests: SplitMix64 from a seed.
    #[derive(Debug, Clone)]
    pub(crate) struct SeededRandom(pub u64);

    impl Random for SeededRandom {
        fn fill(&mut self, bytes: &mut [u8]) -> Result<(), RandomError> {
            for byte in bytes.iter_mut() {
                self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                *byte = (z ^ (z >> 31)) as u8;
            }
            Ok(())
        }
    }

    /// A generator that always fails.
    #[derive(Debug)]
    pub(crate) struct BrokenRandom;

    impl Random for BrokenRandom {
        fn fill(&mut self, _bytes: &mut [u8]) -> Result<(), RandomError> {
            Err(RandomError {
                reason: "broken on purpose".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operating_system_gives_bytes() {
        let a: [u8; 32] = random_bytes(&mut OsRandom).unwrap();
        let b: [u8; 32] = random_bytes(&mut OsRandom).unwrap();
        assert_ne!(a, b);
    }
}
