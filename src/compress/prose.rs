//! Compressor for prose content (not built yet: claims nothing).

use super::{Input, Options, Output};

/// True when `input` looks like prose content.
pub fn looks_like(_input: &Input<'_>) -> bool {
    false
}

/// Compress `input`; `None` keeps the original.
pub fn compress(_input: &Input<'_>, _opts: &Options) -> Option<Output> {
    None
}
