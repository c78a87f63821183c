//! Test support shipped with the contract: the conformance suite every [`Backend`] runs in one
//! line, and a fault-injecting wrapper.
use crate::error::{Result, StorageError};
use crate::physical::{Backend, TxnOp};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub mod conformance {
    use super::*;
    use std::future::Future;

    /// Runs every check against fresh backends made by `make`.
    pub async fn run<B, F, Fut>(make: F)
    where
        B: Backend,
        F: Fn() -> Fut,
        Fut: Future<Output = B>,
    {
        get_put_delete(&make().await).await;
        list_children(&make().await).await;
        list_pagination(&make().await).await;
        transaction_is_all_or_nothing_visible(&make().await).await;
        empty_key_is_invalid(&make().await).await;
        concurrent_writes_all_land(Arc::new(make().await)).await;
    }

    pub async fn get_put_delete<B: Backend>(b: &B) {
        assert_eq!(b.get("a/b").await.expect("get"), None, "missing key reads as None");
        b.put("a/b", b"one".to_vec()).await.expect("put");
        assert_eq!(b.get("a/b").await.expect("get").as_deref(), Some(&b"one"[..]));
        b.put("a/b", b"two".to_vec()).await.expect("overwrite");
        assert_eq!(b.get("a/b").await.expect("get").as_deref(), Some(&b"two"[..]));
        b.put("empty", Vec::new()).await.expect("put empty value");
        assert_eq!(b.get("empty").await.expect("get").as_deref(), Some(&b""[..]), "empty value is not missing");
        b.delete("a/b").await.expect("delete");
        assert_eq!(b.get("a/b").await.expect("get"), None);
        b.delete("a/b").await.expect("deleting a missing key is not an error");
    }

    pub async fn list_children<B: Backend>(b: &B) {
        for k in ["p/a", "p/b/c", "p/b/d", "p/b-x", "p/c", "q/z", "pz"] {
            b.put(k, k.as_bytes().to_vec()).await.expect("put");
        }
        assert_eq!(b.list("p/").await.expect("list"), vec!["a", "b-x", "b/", "c"]);
        assert_eq!(b.list("p/b/").await.expect("list"), vec!["c", "d"]);
        assert_eq!(b.list("").await.expect("list"), vec!["p/", "pz", "q/"]);
        assert!(b.list("nothing/").await.expect("list").is_empty());
    }

    pub async fn list_pagination<B: Backend>(b: &B) {
        for i in 0..10 {
            b.put(&format!("pg/k{i}"), vec![i]).await.expect("put");
        }
        b.put("pg/k5/deep", vec![]).await.expect("put");
        let page = b.list_page("pg/", None, Some(3)).await.expect("page");
        assert_eq!(page, vec!["k0", "k1", "k2"]);
        let page = b.list_page("pg/", Some("k2"), Some(4)).await.expect("page");
        assert_eq!(page, vec!["k3", "k4", "k5", "k5/"]);
        let page = b.list_page("pg/", Some("k8"), None).await.expect("page");
        assert_eq!(page, vec!["k9"]);
        assert!(b.list_page("pg/", Some("k9"), Some(5)).await.expect("page").is_empty());
    }

    pub async fn transaction_is_all_or_nothing_visible<B: Backend>(b: &B) {
        b.put("t/old", b"x".to_vec()).await.expect("put");
        b.transaction(vec![
            TxnOp::Put { key: "t/a".into(), value: b"1".to_vec() },
            TxnOp::Put { key: "t/b".into(), value: b"2".to_vec() },
            TxnOp::Delete { key: "t/old".into() },
        ])
        .await
        .expect("txn");
        assert_eq!(b.get("t/a").await.expect("get").as_deref(), Some(&b"1"[..]));
        assert_eq!(b.get("t/b").await.expect("get").as_deref(), Some(&b"2"[..]));
        assert_eq!(b.get("t/old").await.expect("get"), None);
        // An invalid operation rejects the whole transaction.
        let err = b
            .transaction(vec![
                TxnOp::Put { key: "t/c".into(), value: b"3".to_vec() },
                TxnOp::Put { key: String::new(), value: b"bad".to_vec() },
            ])
            .await;
        assert!(matches!(err, Err(StorageError::InvalidInput(_))), "{err:?}");
        assert_eq!(b.get("t/c").await.expect("get"), None, "rejected transaction wrote nothing");
    }

    pub async fn empty_key_is_invalid<B: Backend>(b: &B) {
        assert!(matches!(b.put("", vec![1]).await, Err(StorageError::InvalidInput(_))));
        assert!(matches!(b.get("").await, Err(StorageError::InvalidInput(_))));
    }

    pub async fn concurrent_writes_all_land<B: Backend>(b: Arc<B>) {
        let mut tasks = Vec::new();
        for t in 0..8u8 {
            let b = b.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25u8 {
                    b.put(&format!("c/{t}-{i}"), vec![t, i]).await.expect("put");
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(b.list("c/").await.expect("list").len(), 200);
        assert_eq!(b.get("c/7-24").await.expect("get"), Some(vec![7, 24]));
    }
}

/// Wraps a backend and fails every operation with `Unavailable` while `fail` is set.
pub struct FaultyBackend<B> {
    pub inner: B,
    pub fail: AtomicBool,
}

impl<B> FaultyBackend<B> {
    pub fn new(inner: B) -> Self {
        FaultyBackend { inner, fail: AtomicBool::new(false) }
    }
    pub fn set_failing(&self, on: bool) {
        self.fail.store(on, Ordering::SeqCst);
    }
    fn check(&self) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            Err(StorageError::Unavailable("injected fault".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl<B: Backend> Backend for FaultyBackend<B> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.check()?;
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<()> {
        self.check()?;
        self.inner.put(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.check()?;
        self.inner.delete(key).await
    }
    async fn list_page(&self, prefix: &str, after: Option<&str>, limit: Option<usize>) -> Result<Vec<String>> {
        self.check()?;
        self.inner.list_page(prefix, after, limit).await
    }
    async fn transaction(&self, ops: Vec<TxnOp>) -> Result<()> {
        self.check()?;
        self.inner.transaction(ops).await
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}
