//! Behaviour tests over an in-memory barrier.
