//! KV secrets engine, versions 1 and 2 (being written).
#![forbid(unsafe_code)]
