//! Shamir secret sharing over GF(2^8), byte by byte, in OpenBao's share layout:
//! a share is the secret's length in y-values followed by ONE trailing x-coordinate byte
//! (`[y_0, y_1, .., y_{n-1}, x]`), so a 32-byte key gives 33-byte shares.
//!
//! Our own implementation (see README.md): the two popular crates carry advisories, and the code
//! is small enough to read in one sitting. Properties relied on:
//! - every coefficient above the constant term is uniform from the OS CSPRNG (`OsRng`), with no
//!   rejection of a zero leading coefficient: forcing it non-zero would rule out one secret value
//!   for anyone holding `threshold - 1` shares;
//! - x-coordinates are distinct, non-zero and drawn at random (a uniform shuffle of 1..=255);
//! - field arithmetic is constant time (module `gf256`).
use crate::error::{Result, SealError};
use crate::gf256;
use coffer_hardening::secret::SecretBytes;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::RngCore;
use zeroize::Zeroizing;

/// Bytes a share adds to the secret: the trailing x-coordinate.
pub const SHARE_OVERHEAD: usize = 1;

fn invalid(msg: &str) -> SealError {
    SealError::InvalidConfig(msg.to_owned())
}

fn combine_failed(msg: &str) -> SealError {
    SealError::CombineFailed(msg.to_owned())
}

/// Splits `secret` into `parts` shares, any `threshold` of which reconstruct it.
/// Needs `2 <= threshold <= parts` (so at most 255 parts) and a non-empty secret; errors use
/// OpenBao's texts ("parts cannot be less than threshold", "threshold must be at least 2",
/// "cannot split an empty secret").
pub fn split(secret: &[u8], parts: u8, threshold: u8) -> Result<Vec<SecretBytes>> {
    if parts < threshold {
        return Err(invalid("parts cannot be less than threshold"));
    }
    if threshold < 2 {
        return Err(invalid("threshold must be at least 2"));
    }
    if secret.is_empty() {
        return Err(invalid("cannot split an empty secret"));
    }
    let degree = usize::from(threshold) - 1;

    // Distinct random non-zero x-coordinates.
    let mut xs: Vec<u8> = (1..=255u8).collect();
    xs.shuffle(&mut OsRng);
    xs.truncate(usize::from(parts));

    // All random coefficients in one draw: `degree` per secret byte (the constant term is the
    // secret byte itself).
    let mut coefficients = Zeroizing::new(vec![0u8; secret.len() * degree]);
    OsRng.fill_bytes(&mut coefficients);

    // Allocated at their final size so the buffers are never reallocated (and copied) once
    // they hold share bytes.
    let mut out: Vec<Zeroizing<Vec<u8>>> = xs
        .iter()
        .map(|&x| {
            let mut share = Zeroizing::new(vec![0u8; secret.len() + SHARE_OVERHEAD]);
            share[secret.len()] = x;
            share
        })
        .collect();

    for (idx, (&intercept, coeffs)) in secret.iter().zip(coefficients.chunks_exact(degree)).enumerate() {
        for share in out.iter_mut() {
            let x = share[secret.len()];
            // Horner: ((c_d * x + c_{d-1}) * x + ...) * x + intercept.
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = gf256::add(gf256::mul(y, x), c);
            }
            share[idx] = gf256::add(gf256::mul(y, x), intercept);
        }
    }

    Ok(out.into_iter().map(|mut share| SecretBytes::new(std::mem::take(&mut *share))).collect())
}

/// Reconstructs the secret from shares made by [`split`] (or by OpenBao). With at least
/// `threshold` genuine shares the result is the secret; with fewer, or with altered shares, it
/// is some other value — Shamir cannot tell, the caller finds out by using the key.
///
/// Errors (OpenBao's texts where it has one): fewer than two parts, a part shorter than two
/// bytes, parts of different lengths, two parts with the same x-coordinate, an x-coordinate of
/// zero (no share made by a split has one).
pub fn combine(parts: &[SecretBytes]) -> Result<SecretBytes> {
    if parts.len() < 2 {
        return Err(combine_failed("less than two parts cannot be used to reconstruct the secret"));
    }
    let part_len = parts[0].len();
    if part_len < 2 {
        return Err(combine_failed("parts must be at least two bytes"));
    }
    if parts.iter().any(|p| p.len() != part_len) {
        return Err(combine_failed("all parts must be the same length"));
    }
    let secret_len = part_len - SHARE_OVERHEAD;

    // x-coordinates are public (they are printed at the end of every share).
    let xs: Vec<u8> = parts.iter().map(|p| p.expose()[secret_len]).collect();
    let mut seen = [false; 256];
    for &x in &xs {
        if seen[usize::from(x)] {
            return Err(combine_failed("duplicate part detected"));
        }
        seen[usize::from(x)] = true;
    }
    if seen[0] {
        return Err(combine_failed("invalid part: x-coordinate must not be zero"));
    }

    // Lagrange basis at 0: l_i(0) = prod_{j != i} x_j / (x_i - x_j), the same for every byte.
    let basis: Vec<u8> = xs
        .iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u8, |acc, (_, &xj)| gf256::mul(acc, gf256::mul(xj, gf256::inv(gf256::add(xi, xj)))))
        })
        .collect();

    let mut secret = Zeroizing::new(vec![0u8; secret_len]);
    for (idx, out) in secret.iter_mut().enumerate() {
        *out = parts.iter().zip(&basis).fold(0u8, |acc, (part, &l)| gf256::add(acc, gf256::mul(part.expose()[idx], l)));
    }
    Ok(SecretBytes::new(std::mem::take(&mut *secret)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::fixture;
    use proptest::prelude::*;

    fn sb(b: &[u8]) -> SecretBytes {
        SecretBytes::new(b.to_vec())
    }

    fn pick(shares: &[SecretBytes], idx: &[usize]) -> Vec<SecretBytes> {
        idx.iter().map(|&i| sb(shares[i].expose())).collect()
    }

    fn err_text(r: Result<SecretBytes>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    /// Shares made by OpenBao 2.7.2 (fixture sys-init-put-3-shares-threshold-2) combine here:
    /// every pair gives the same 32-byte key, which can only happen if the layout (y bytes then
    /// one trailing x) and the field (AES polynomial) are OpenBao's.
    #[test]
    fn combines_openbao_shares() {
        let v = fixture("sys-init-put-3-shares-threshold-2.json");
        let shares: Vec<SecretBytes> = v["response"]["body"]["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| SecretBytes::new(hex::decode(k.as_str().expect("hex")).expect("hex")))
            .collect();
        assert_eq!(shares.len(), 3);
        let k01 = combine(&pick(&shares, &[0, 1])).expect("combine");
        let k12 = combine(&pick(&shares, &[1, 2])).expect("combine");
        let k20 = combine(&pick(&shares, &[2, 0])).expect("combine");
        let all = combine(&pick(&shares, &[0, 1, 2])).expect("combine");
        assert_eq!(k01.len(), 32);
        assert_eq!(k01.expose(), k12.expose());
        assert_eq!(k01.expose(), k20.expose());
        assert_eq!(k01.expose(), all.expose());
    }

    /// Shares have OpenBao's shape: secret length + 1, distinct non-zero trailing x.
    #[test]
    fn share_layout() {
        let secret = [7u8; 32];
        let shares = split(&secret, 255, 3).expect("split");
        assert_eq!(shares.len(), 255);
        let mut xs: Vec<u8> = shares.iter().map(|s| s.expose()[32]).collect();
        assert!(shares.iter().all(|s| s.len() == 33));
        xs.sort_unstable();
        assert_eq!(xs, (1..=255u8).collect::<Vec<_>>(), "255 shares use every non-zero x once");
    }

    /// x-coordinates are random, not 1, 2, 3...: over 200 splits into 2 parts the first share's
    /// x takes many values.
    #[test]
    fn x_coordinates_are_random() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            let s = split(b"0123456789abcdef", 2, 2).expect("split");
            seen.insert(s[0].expose()[16]);
        }
        assert!(seen.len() > 100, "only {} distinct x values in 200 splits", seen.len());
    }

    /// One share of a 2-of-n split says nothing about the secret: its y-byte is uniform over
    /// 0..=255 for a fixed secret (16384 samples, every value seen 20..=120 times; the
    /// expected count is 64, so a correct implementation fails this with odds below 1e-7).
    #[test]
    fn single_share_is_uniform() {
        let mut counts = [0u32; 256];
        for _ in 0..64 {
            let shares = split(&[0x42; 256], 2, 2).expect("split");
            for y in &shares[0].expose()[..256] {
                counts[usize::from(*y)] += 1;
            }
        }
        for (v, &c) in counts.iter().enumerate() {
            assert!((20..=120).contains(&c), "y value {v} seen {c} times");
        }
    }

    /// The largest split (255 parts, threshold 255) and a 255-part 2-threshold split work.
    #[test]
    fn extreme_parameters() {
        let secret = [0xa5u8; 32];
        let shares = split(&secret, 255, 255).expect("split");
        assert_eq!(combine(&shares).expect("combine").expose(), &secret);
        let too_few = combine(&shares[..254]).expect("combine");
        assert_ne!(too_few.expose(), &secret);
        let shares = split(&secret, 255, 2).expect("split");
        assert_eq!(combine(&shares[200..202]).expect("combine").expose(), &secret);
    }

    /// Invalid split requests are refused with OpenBao's texts.
    #[test]
    fn split_refuses_bad_parameters() {
        let e = |r: Result<Vec<SecretBytes>>| match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        };
        let p = "invalid seal configuration: ";
        assert_eq!(e(split(b"s", 2, 3)), format!("{p}parts cannot be less than threshold"));
        assert_eq!(e(split(b"s", 0, 1)), format!("{p}parts cannot be less than threshold"));
        assert_eq!(e(split(b"s", 3, 1)), format!("{p}threshold must be at least 2"));
        assert_eq!(e(split(b"s", 1, 1)), format!("{p}threshold must be at least 2"));
        assert_eq!(e(split(b"", 3, 2)), format!("{p}cannot split an empty secret"));
    }

    /// Malformed part sets are errors with OpenBao's texts, never a value.
    #[test]
    fn combine_refuses_malformed_parts() {
        let p = "invalid key: failed to compute combined key: ";
        let shares = split(&[1u8; 32], 3, 2).expect("split");
        assert_eq!(
            err_text(combine(&pick(&shares, &[0]))),
            format!("{p}less than two parts cannot be used to reconstruct the secret")
        );
        assert_eq!(err_text(combine(&[])), format!("{p}less than two parts cannot be used to reconstruct the secret"));
        assert_eq!(err_text(combine(&[sb(&[1]), sb(&[2])])), format!("{p}parts must be at least two bytes"));
        let short = sb(&shares[1].expose()[1..]);
        assert_eq!(
            err_text(combine(&[sb(shares[0].expose()), short])),
            format!("{p}all parts must be the same length")
        );
        // The same share twice, and two different shares with the same x-coordinate.
        assert_eq!(err_text(combine(&pick(&shares, &[0, 0]))), format!("{p}duplicate part detected"));
        let mut forged = shares[1].expose().to_vec();
        forged[32] = shares[0].expose()[32];
        assert_eq!(err_text(combine(&[sb(shares[0].expose()), sb(&forged)])), format!("{p}duplicate part detected"));
        // x = 0 would hand over its y-bytes as "the secret": no real share has it.
        let mut zero_x = shares[1].expose().to_vec();
        zero_x[32] = 0;
        assert_eq!(
            err_text(combine(&[sb(shares[0].expose()), sb(&zero_x)])),
            format!("{p}invalid part: x-coordinate must not be zero")
        );
    }

    /// Threshold-sized (or larger) part sets of random splits, in any order.
    fn reconstruct_case() -> impl Strategy<Value = (Vec<u8>, u8, u8, Vec<usize>)> {
        (2u8..=24).prop_flat_map(|parts| (Just(parts), 2u8..=parts)).prop_flat_map(|(parts, threshold)| {
            let all: Vec<usize> = (0..usize::from(parts)).collect();
            (
                proptest::collection::vec(any::<u8>(), 1..=48),
                Just(parts),
                Just(threshold),
                proptest::sample::subsequence(all, usize::from(threshold)..=usize::from(parts)).prop_shuffle(),
            )
        })
    }

    /// Fewer-than-threshold part sets (at least 2, so combine runs) of random splits.
    fn too_few_case() -> impl Strategy<Value = (Vec<u8>, u8, u8, Vec<usize>)> {
        (3u8..=24).prop_flat_map(|parts| (Just(parts), 3u8..=parts)).prop_flat_map(|(parts, threshold)| {
            let all: Vec<usize> = (0..usize::from(parts)).collect();
            (
                // 16+ bytes: a chance match of a wrong value is at most 2^-128.
                proptest::collection::vec(any::<u8>(), 16..=48),
                Just(parts),
                Just(threshold),
                proptest::sample::subsequence(all, 2..usize::from(threshold)).prop_shuffle(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any subset of at least `threshold` shares, in any order, gives back the secret.
        #[test]
        fn any_threshold_subset_reconstructs((secret, parts, threshold, idx) in reconstruct_case()) {
            let shares = split(&secret, parts, threshold).expect("split");
            prop_assert_eq!(shares.len(), usize::from(parts));
            let got = combine(&pick(&shares, &idx)).expect("combine");
            prop_assert_eq!(got.expose(), &secret[..]);
        }

        /// Fewer than `threshold` shares give some other value, not the secret.
        #[test]
        fn fewer_than_threshold_does_not_reconstruct((secret, parts, threshold, idx) in too_few_case()) {
            let shares = split(&secret, parts, threshold).expect("split");
            let got = combine(&pick(&shares, &idx)).expect("combine");
            prop_assert_ne!(got.expose(), &secret[..]);
        }

        /// Changing any y-byte of one share changes the result (Lagrange weights are never
        /// zero), so a wrong share can never combine to the right key.
        #[test]
        fn altered_share_changes_result(
            (secret, parts, threshold, idx) in reconstruct_case(),
            which in any::<prop::sample::Index>(),
            byte in any::<prop::sample::Index>(),
            delta in 1u8..=255,
        ) {
            let shares = split(&secret, parts, threshold).expect("split");
            let mut chosen: Vec<Vec<u8>> = idx.iter().map(|&i| shares[i].expose().to_vec()).collect();
            let w = which.index(chosen.len());
            let b = byte.index(secret.len());
            chosen[w][b] ^= delta;
            let parts: Vec<SecretBytes> = chosen.into_iter().map(SecretBytes::new).collect();
            let got = combine(&parts).expect("combine");
            prop_assert_ne!(got.expose()[b], secret[b]);
        }

        /// Combining is total on well-formed input: arbitrary equal-length parts with distinct
        /// non-zero x never panic and give a value of the right length.
        #[test]
        fn combine_never_panics(raw in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 2..40), 0..6)) {
            let parts: Vec<SecretBytes> = raw.into_iter().map(SecretBytes::new).collect();
            if let Ok(v) = combine(&parts) {
                prop_assert_eq!(v.len(), parts[0].len() - 1);
            }
        }
    }
}
