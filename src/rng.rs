//! The one random-number source, specified here so that native and WebAssembly builds (and any
//! future port) draw identical numbers.
//!
//! Generator: ChaCha8 (`rand_chacha`), key = the user's seed as 8 little-endian bytes followed
//! by 24 zero bytes, and a *stream* number that says what the numbers are for (see
//! [`Purpose`]), so that drawing for one class never shifts the draws of another.
//! Integers below `n` use Lemire's widening multiply with rejection on 64-bit words, so they
//! are exactly uniform. Samples without replacement use Floyd's algorithm; permutations use
//! Fisher–Yates from the last element down.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};
use std::collections::HashSet;

/// What a stream of random numbers is used for; part of the stream number.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum Purpose {
    GraphPairs = 1,
    EuclideanPairs = 2,
    LabelPermutation = 3,
    Subsample = 4,
    Folds = 5,
    MemorizationSubsets = 6,
    Noise = 7,
    Dfr = 8,
    Consistency = 9,
    MlpInit = 10,
    /// Initial lists and candidate sampling of NN-descent (labelling = iteration).
    NnDescent = 11,
    /// Rows whose exact neighbours estimate an approximate graph's recall.
    RecallSample = 12,
}

pub struct Rng(ChaCha8Rng);

impl Rng {
    /// `labeling` is 0 for the real labels and r for the r-th chance permutation; `index`
    /// distinguishes classes (or folds) within one purpose.
    pub fn new(seed: u64, purpose: Purpose, labeling: u32, index: u32) -> Rng {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(((purpose as u64) << 56) | ((labeling as u64) << 32) | index as u64);
        Rng(rng)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (Lemire 2019, unbiased). `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = self.next_u64() as u128 * n as u128;
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// `count` distinct integers from `0..n`, uniformly, sorted increasingly (Floyd 1987).
    /// Costs O(count), so `n` may be far larger than memory allows to list.
    pub fn sample_distinct(&mut self, n: u64, count: u64) -> Vec<u64> {
        assert!(count <= n, "cannot draw {count} distinct values from {n}");
        // A bit per value where that costs no more than a few words per draw (a class's
        // pairs usually do), else a hash set: the same draw either way.
        self.floyd(n, count, n <= 256 * count)
    }

    /// Floyd's algorithm: step j draws t from 0..=j and takes t, or j (never taken before)
    /// when t already is.
    fn floyd(&mut self, n: u64, count: u64, bitset: bool) -> Vec<u64> {
        if bitset {
            // The set bits in order are the sorted draw.
            let mut taken = vec![0u64; n.div_ceil(64) as usize];
            let is_taken = |taken: &[u64], v: u64| taken[(v / 64) as usize] & (1 << (v % 64)) != 0;
            for j in (n - count)..n {
                let t = self.below(j + 1);
                let pick = if is_taken(&taken, t) { j } else { t };
                taken[(pick / 64) as usize] |= 1 << (pick % 64);
            }
            let mut out = Vec::with_capacity(count as usize);
            for (w, &word) in taken.iter().enumerate() {
                let mut rest = word;
                while rest != 0 {
                    out.push(w as u64 * 64 + u64::from(rest.trailing_zeros()));
                    rest &= rest - 1;
                }
            }
            out
        } else {
            let mut chosen = HashSet::with_capacity(count as usize);
            let mut out = Vec::with_capacity(count as usize);
            for j in (n - count)..n {
                let t = self.below(j + 1);
                let pick = if chosen.contains(&t) { j } else { t };
                chosen.insert(pick);
                out.push(pick);
            }
            out.sort_unstable();
            out
        }
    }

    /// Standard normal by Box–Muller (one value per two uniforms, the cosine branch).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64(); // in (0, 1], so the logarithm is finite
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher–Yates shuffle, from the last position down.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4).map({
            let mut r = Rng::new(7, Purpose::GraphPairs, 0, 3);
            move |_| r.next_u64()
        }).collect();
        let mut again = Rng::new(7, Purpose::GraphPairs, 0, 3);
        assert_eq!(a, (0..4).map(|_| again.next_u64()).collect::<Vec<_>>());
        let mut other = Rng::new(7, Purpose::GraphPairs, 0, 4);
        assert_ne!(a[0], other.next_u64());
    }

    #[test]
    fn below_is_uniform_enough() {
        let mut r = Rng::new(1, Purpose::GraphPairs, 0, 0);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[r.below(6) as usize] += 1;
        }
        // Each count is Binomial(60000, 1/6): sd ≈ 91, so ±500 fails only by a bug.
        assert!(counts.iter().all(|&c| (c as i64 - 10_000).abs() < 500), "{counts:?}");
    }

    #[test]
    fn floyd_sample_is_the_same_with_a_bitset_or_a_hash_set() {
        for (n, count) in [(10, 10), (2_000u64, 1000), (200_000, 1000), (9_900, 5000)] {
            let draw = |bitset| Rng::new(5, Purpose::GraphPairs, 0, 0).floyd(n, count, bitset);
            let with_bits = draw(true);
            assert_eq!(with_bits, draw(false), "n = {n}, count = {count}");
            assert_eq!(with_bits.len(), count as usize);
            assert!(with_bits.windows(2).all(|w| w[0] < w[1]) && *with_bits.last().unwrap() < n);
        }
    }

    #[test]
    fn floyd_sample_is_distinct_sorted_and_covers_the_range() {
        let mut r = Rng::new(3, Purpose::GraphPairs, 0, 0);
        let s = r.sample_distinct(1_000_000_000_000, 5000);
        assert_eq!(s.len(), 5000);
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        let all = r.sample_distinct(10, 10);
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        let mut hits = [0u32; 10];
        for _ in 0..20_000 {
            for v in r.sample_distinct(10, 3) {
                hits[v as usize] += 1;
            }
        }
        // Each value is chosen with probability 3/10: expected 6000, sd ≈ 65.
        assert!(hits.iter().all(|&h| (h as i64 - 6000).abs() < 400), "{hits:?}");
    }
}
