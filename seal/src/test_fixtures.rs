//! Captured OpenBao 2.7.2 responses (copied from the shared reference into testdata/).
pub(crate) fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/testdata/openbao-2.7.2/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
