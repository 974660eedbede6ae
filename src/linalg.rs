//! Dot products with eight independent partial sums in a fixed order. A plain `.sum()` is a
//! serial chain the compiler may not vectorise (float addition is not associative); eight
//! lanes let it use SIMD, and the fixed order keeps native and wasm results identical.

/// Σ aᵢ·bᵢ for any element types that widen to f64.
#[inline]
pub fn dot<A: Copy + Into<f64>, B: Copy + Into<f64>>(a: &[A], b: &[B]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f64; 8];
    let mut chunks_a = a.chunks_exact(8);
    let mut chunks_b = b.chunks_exact(8);
    for (ca, cb) in (&mut chunks_a).zip(&mut chunks_b) {
        for i in 0..8 {
            lanes[i] += ca[i].into() * cb[i].into();
        }
    }
    let mut tail = 0.0;
    for (&x, &y) in chunks_a.remainder().iter().zip(chunks_b.remainder()) {
        tail += x.into() * y.into();
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7])) + tail
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_a_plain_sum() {
        let a: Vec<f64> = (0..37).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f32> = (0..37).map(|i| (i % 5) as f32 - 2.0).collect();
        let plain: f64 = a.iter().zip(&b).map(|(x, &y)| x * y as f64).sum();
        assert!((super::dot(&a, &b) - plain).abs() < 1e-12);
    }
}
