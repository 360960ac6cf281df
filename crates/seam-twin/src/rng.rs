//! A small, seedable random source, so that one seed always gives the same twin.
//!
//! SplitMix64: fast, statistically sound for simulation, and trivially reproducible on every
//! platform. Normal-ish draws use sums of uniforms rather than transcendental functions, whose
//! last bits may differ between math libraries.

/// A deterministic random source.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for one part of the simulation, named by numbers (a day, a person),
    /// so that parts can be generated in any order, or in parallel, with the same result.
    pub fn stream(seed: u64, parts: &[u64]) -> Rng {
        let mut state = mix(seed ^ 0x5eed_0000_0000_0001);
        for part in parts {
            state = mix(state ^ mix(part.wrapping_add(0x9e37_79b9_7f4a_7c15)));
        }
        Rng(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for simulation and free of a division.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = high.abs_diff(low).saturating_add(1);
        low.saturating_add_unsigned(self.below(span))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal with the given mean and standard deviation (Irwin–Hall of four uniforms,
    /// clipped at three deviations by construction).
    pub fn normal(&mut self, mean: f64, deviation: f64) -> f64 {
        let sum: f64 = (0..4).map(|_| self.unit()).sum();
        // The sum of four uniforms has mean 2 and variance 1/3.
        mean + (sum - 2.0) * deviation * 3.0f64.sqrt()
    }

    /// One element of a non-empty slice, or `None` for an empty one.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let index = usize::try_from(self.below(items.len() as u64)).ok()?;
        items.get(index)
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, &[1, 2]).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::stream(7, &[1, 2]).next_u64(),
            Rng::stream(7, &[2, 1]).next_u64()
        );
        assert_ne!(
            Rng::stream(7, &[1]).next_u64(),
            Rng::stream(8, &[1]).next_u64()
        );
    }

    #[test]
    fn draws_stay_in_range() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            assert!(rng.below(10) < 10);
            let x = rng.between(-3, 3);
            assert!((-3..=3).contains(&x));
            let n = rng.normal(100.0, 10.0);
            assert!(
                (100.0 - 10.0 * 3.0f64.sqrt() * 2.0..=100.0 + 10.0 * 3.0f64.sqrt() * 2.0)
                    .contains(&n)
            );
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.pick::<u8>(&[]), None);
    }

    #[test]
    fn chance_is_roughly_right() {
        let mut rng = Rng::new(3);
        let hits = (0..100_000).filter(|_| rng.chance(0.1)).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
    }
}
