//! Token counting with the embedded o200k_base BPE (tiktoken-rs).
//!
//! One encoding for every provider: o200k_base is exact for current OpenAI
//! models; Anthropic and Google do not publish their tokenizers, and o200k
//! is the closest public BPE for Claude and Gemini text (within a few
//! percent on code and logs), which is all the never-worse gate and the
//! savings statistics need. The ranks are compiled into the binary by
//! tiktoken-rs; nothing is downloaded. Loading them takes ~100 ms, so the
//! daemon calls [`warm_up`] on a background thread at start.

use tiktoken_rs::CoreBPE;

fn bpe() -> &'static CoreBPE {
    tiktoken_rs::o200k_base_singleton()
}

/// Load the BPE ranks now (blocking); later calls are free.
pub fn warm_up() {
    let _ = bpe();
}

/// Exact o200k_base token count of `text` (special tokens count as text).
pub fn count(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    bpe().count_ordinary(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        assert_eq!(count(""), 0);
        assert_eq!(count("hello world"), 2);
        assert!(count("error[E0308]: mismatched types") > 5);
    }
}
