//! Test support shipped with the contract (feature "testing"): the conformance suite every
//! [`Seal`] implementation runs in one line, and a fault-injecting wrapper.
use crate::error::{Result, SealError};
use crate::seal::Seal;
use async_trait::async_trait;
use coffer_hardening::secret::Key256;
use std::sync::Mutex;

/// Runs every check of the [`Seal`] contract. `a` and `other` are two seals of the same kind
/// with different keys. Panics (with the property broken) on the first failure.
pub async fn conformance<S: Seal>(a: &S, other: &S) {
    names_its_type(a).await;
    round_trip(a).await;
    wrap_is_randomized_and_hides_the_key(a).await;
    altered_blob_is_an_error(a).await;
    truncated_or_extended_blob_is_an_error(a).await;
    blob_of_another_seal_is_wrong_key(a, other).await;
    blob_of_another_seal_is_wrong_key(other, a).await;
}

pub async fn names_its_type<S: Seal>(s: &S) {
    assert!(!s.seal_type().is_empty(), "seal_type() must name the seal");
}

/// `unwrap(wrap(k)) == k` for random keys and for the all-zero and all-ones keys.
pub async fn round_trip<S: Seal>(s: &S) {
    let mut keys: Vec<Key256> = (0..3).map(|_| Key256::generate()).collect();
    keys.extend([[0u8; 32], [0xff; 32]].iter().filter_map(|k| Key256::from_slice(k)));
    for k in &keys {
        let blob = s.wrap(k).await.expect("wrap");
        let back = s.unwrap(&blob).await.expect("unwrap of a fresh blob");
        assert!(back.expose() == k.expose(), "unwrap(wrap(k)) must give back k");
        // Unwrapping is repeatable (the core unwraps at every unseal).
        let again = s.unwrap(&blob).await.expect("second unwrap");
        assert!(again.expose() == k.expose(), "a blob unwraps the same way twice");
    }
}

/// Two wraps of one key differ (no nonce reuse), and no blob carries the key in the clear.
pub async fn wrap_is_randomized_and_hides_the_key<S: Seal>(s: &S) {
    let k = Key256::generate();
    let b1 = s.wrap(&k).await.expect("wrap");
    let b2 = s.wrap(&k).await.expect("wrap");
    assert_ne!(b1, b2, "wrapping the same key twice must give different blobs");
    for b in [&b1, &b2] {
        assert!(!b.windows(Key256::LEN).any(|w| w == k.expose()), "a blob must not contain the root key in the clear");
        // Not even a 16-byte run of it.
        for part in k.expose().chunks(16) {
            assert!(!b.windows(part.len()).any(|w| w == part), "a blob leaks key bytes");
        }
    }
}

/// Flipping any one bit of a blob makes `unwrap` fail; it never returns a key.
pub async fn altered_blob_is_an_error<S: Seal>(s: &S) {
    let k = Key256::generate();
    let blob = s.wrap(&k).await.expect("wrap");
    // Every byte for blobs of ordinary size; evenly spread positions for larger ones.
    let step = blob.len().div_ceil(256).max(1);
    for pos in (0..blob.len()).step_by(step).chain([blob.len().saturating_sub(1)]) {
        for bit in [0x01u8, 0x80] {
            let mut bad = blob.clone();
            bad[pos] ^= bit;
            if let Ok(got) = s.unwrap(&bad).await {
                let same = got.expose() == k.expose();
                panic!("unwrap of a blob altered at byte {pos} succeeded (same key: {same})");
            }
        }
    }
}

/// Cut or lengthened blobs are errors, the empty blob included.
pub async fn truncated_or_extended_blob_is_an_error<S: Seal>(s: &S) {
    let blob = s.wrap(&Key256::generate()).await.expect("wrap");
    let n = blob.len();
    for len in [0, 1, n / 2, n.saturating_sub(1)] {
        assert!(s.unwrap(&blob[..len]).await.is_err(), "a blob cut to {len} of {n} bytes must fail");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(s.unwrap(&longer).await.is_err(), "a blob with a byte appended must fail");
}

/// A blob wrapped by `from` does not unwrap with `to`: `WrongKey`, never a key.
pub async fn blob_of_another_seal_is_wrong_key<S: Seal>(from: &S, to: &S) {
    let blob = from.wrap(&Key256::generate()).await.expect("wrap");
    match to.unwrap(&blob).await {
        Err(SealError::WrongKey) => {}
        Err(e) => panic!("a blob of another seal must be WrongKey, got {e:?}"),
        Ok(_) => panic!("a blob of another seal unwrapped to a key"),
    }
}

/// Wraps a seal and fails every call with an injected error while one is set: for testing how
/// the core handles an HSM or KMS that goes away.
pub struct FaultInjectingSeal<S> {
    inner: S,
    fault: Mutex<Option<SealError>>,
}

impl<S: Seal> FaultInjectingSeal<S> {
    pub fn new(inner: S) -> Self {
        FaultInjectingSeal { inner, fault: Mutex::new(None) }
    }

    /// From now on, `wrap` and `unwrap` return `err` (e.g. `SealError::Unavailable(..)`).
    pub fn inject(&self, err: SealError) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
    }

    /// Calls reach the inner seal again.
    pub fn clear(&self) {
        *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn check(&self) -> Result<()> {
        match self.fault.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl<S: Seal> Seal for FaultInjectingSeal<S> {
    fn seal_type(&self) -> &'static str {
        self.inner.seal_type()
    }
    async fn wrap(&self, root_key: &Key256) -> Result<Vec<u8>> {
        self.check()?;
        self.inner.wrap(root_key).await
    }
    async fn unwrap(&self, blob: &[u8]) -> Result<Key256> {
        self.check()?;
        self.inner.unwrap(blob).await
    }
}
