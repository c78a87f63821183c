//! ACL policies: HCL and JSON parsed once, compiled, evaluated per request (being written).
#![forbid(unsafe_code)]
