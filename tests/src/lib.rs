//! End-to-end tests live in tests/*.rs (Rust) and tests/py (bao CLI, hvac).
