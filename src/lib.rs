//! headroom
