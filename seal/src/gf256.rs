//! Arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b),
//! the field OpenBao's Shamir uses, so shares are interchangeable with OpenBao's.
//!
//! Multiplication and inversion are constant time: no table lookup indexed by a secret byte and
//! no branch on one (log/exp tables leak through the cache; share bytes are secret).

/// Addition and subtraction are the same operation: XOR.
#[inline]
pub(crate) fn add(a: u8, b: u8) -> u8 {
    a ^ b
}

/// Carry-less "Russian peasant" multiplication modulo 0x11b, eight fixed rounds, masks
/// instead of branches.
#[inline]
pub(crate) fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        // All ones when the low bit of b is set, else zero.
        product ^= a & 0u8.wrapping_sub(b & 1);
        // Reduce by 0x1b when shifting a out of the field (its top bit was set).
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1b & carry);
        b >>= 1;
    }
    product
}

/// Multiplicative inverse as a^254 (Fermat: a^255 = 1 for a != 0); `inv(0)` is 0, so callers
/// must never divide by zero (Shamir's denominators are differences of distinct x-coordinates).
pub(crate) fn inv(a: u8) -> u8 {
    // 254 = 0b1111_1110: square-and-multiply with a fixed sequence of operations.
    let a2 = mul(a, a); // a^2
    let a3 = mul(a2, a); // a^3
    let a6 = mul(a3, a3); // a^6
    let a7 = mul(a6, a); // a^7
    let a14 = mul(a7, a7); // a^14
    let a15 = mul(a14, a); // a^15
    let a30 = mul(a15, a15); // a^30
    let a31 = mul(a30, a); // a^31
    let a62 = mul(a31, a31); // a^62
    let a63 = mul(a62, a); // a^63
    let a126 = mul(a63, a63); // a^126
    let a127 = mul(a126, a); // a^127
    mul(a127, a127) // a^254
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference multiplication from log/exp tables built with the generator 3 (test only:
    /// tables are fine where nothing is secret).
    fn tables() -> ([u8; 256], [u8; 256]) {
        let (mut exp, mut log) = ([0u8; 256], [0u8; 256]);
        let mut x = 1u8;
        for i in 0..255u16 {
            exp[i as usize] = x;
            log[x as usize] = i as u8;
            // x *= 3 with the textbook shift-and-reduce.
            let x2 = (x << 1) ^ if x & 0x80 != 0 { 0x1b } else { 0 };
            x ^= x2;
        }
        (exp, log)
    }

    /// `mul` agrees with the table multiplication of the AES field on all 65536 pairs.
    #[test]
    fn mul_matches_aes_field_tables() {
        let (exp, log) = tables();
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let want =
                    if a == 0 || b == 0 { 0 } else { exp[(log[a as usize] as usize + log[b as usize] as usize) % 255] };
                assert_eq!(mul(a, b), want, "{a} * {b}");
            }
        }
    }

    /// The known AES example: {57} * {83} = {c1} (FIPS-197 section 4.2).
    #[test]
    fn fips197_example() {
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x57, 0x13), 0xfe);
    }

    /// Every non-zero element times its inverse is one; zero maps to zero.
    #[test]
    fn inverse_is_inverse() {
        assert_eq!(inv(0), 0);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "a = {a}");
        }
    }

    /// Field laws on all pairs/triples sampled: commutativity and distributivity.
    #[test]
    fn field_laws() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), mul(b, a));
                let c = a.wrapping_mul(31).wrapping_add(b);
                assert_eq!(mul(a, add(b, c)), add(mul(a, b), mul(a, c)));
            }
        }
    }
}
