//! The token store: service and batch tokens, accessors, parent/child tree, roles, expiry (being written).
#![forbid(unsafe_code)]
