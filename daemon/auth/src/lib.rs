//! Auth methods: userpass and approle (being written).
#![forbid(unsafe_code)]
