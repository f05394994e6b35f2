//! How large a CoT message and each of its parts may be.

/// Size limits the parsers enforce. Every limit is checked before the part it bounds is kept,
/// so a message over a limit costs at most the limit in memory, and is refused with an error
/// naming the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole message (one XML event, or one protobuf payload), bytes.
    pub message_bytes: usize,
    /// Deepest nesting of elements under `<event>`.
    pub depth: usize,
    /// Most elements under `<detail>`, at any depth.
    pub detail_elements: usize,
    /// Most attributes on one element.
    pub attributes: usize,
    /// Longest element or attribute name, bytes.
    pub name_bytes: usize,
    /// Longest attribute value, bytes.
    pub attribute_bytes: usize,
    /// Longest text of one element (such as `<remarks>`), bytes.
    pub text_bytes: usize,
}

impl Default for Limits {
    /// What ATAK sends with room to spare: events of a few kilobytes, remarks of a few
    /// hundred characters. A message of 64 KiB is far beyond any marker or line; larger
    /// payloads (images, data packages) go over TAK's HTTP sync API, not the CoT stream.
    fn default() -> Self {
        Self {
            message_bytes: 64 * 1024,
            depth: 16,
            detail_elements: 256,
            attributes: 32,
            name_bytes: 64,
            attribute_bytes: 4096,
            text_bytes: 16 * 1024,
        }
    }
}
