//! C2SP tlog-tiles paths: `tile/<L>/<N>[.p/<W>]` for hash tiles and `tile/entries/<N>[.p/<W>]`
//! for entry bundles, N written in groups of three digits with an `x` before all but the last
//! (`x001/x234/067`). Tiles are 256 wide (height 8).

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// A parsed tile path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// Hashes of tree level `8·level`, tile `index`, `width` of them.
    Hashes {
        /// Tile level (0 = leaf hashes).
        level: u8,
        /// Tile number within the level.
        index: u64,
        /// Hashes in the tile, 1 to 256.
        width: u32,
    },
    /// Entries `index·256 ..` , `width` of them.
    Entries {
        /// Bundle number.
        index: u64,
        /// Entries in the bundle, 1 to 256.
        width: u32,
    },
}

impl TilePath {
    /// How many leaves the tree must have for this tile to exist.
    pub fn leaves_needed(&self) -> Option<u64> {
        match *self {
            TilePath::Hashes {
                level,
                index,
                width,
            } => index
                .checked_mul(TILE_WIDTH)?
                .checked_add(u64::from(width))?
                .checked_shl(8 * u32::from(level))
                .filter(|v| v >> (8 * u32::from(level)) == index * TILE_WIDTH + u64::from(width)),
            TilePath::Entries { index, width } => {
                index.checked_mul(TILE_WIDTH)?.checked_add(u64::from(width))
            }
        }
    }

    /// The path, without a leading slash.
    pub fn to_path(&self) -> String {
        let (head, index, width) = match *self {
            TilePath::Hashes {
                level,
                index,
                width,
            } => (level.to_string(), index, width),
            TilePath::Entries { index, width } => ("entries".to_string(), index, width),
        };
        let partial = if u64::from(width) == TILE_WIDTH {
            String::new()
        } else {
            format!(".p/{width}")
        };
        format!("tile/{head}/{}{partial}", index_path(index))
    }
}

fn index_path(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    while n >= 1000 {
        n /= 1000;
        groups.push(format!("x{:03}", n % 1000));
    }
    groups.reverse();
    groups.join("/")
}

/// Parses a tile path (`tile/0/x001/234`, `tile/entries/005.p/17`); `None` unless it is exactly
/// the canonical form.
pub fn parse_tile_path(path: &str) -> Option<TilePath> {
    if path.len() > 80 {
        return None;
    }
    let rest = path.strip_prefix("tile/")?;
    let (head, rest) = rest.split_once('/')?;
    let (digits, width) = match rest.split_once(".p/") {
        Some((n, w)) => {
            let w: u32 = w.parse().ok()?;
            if w == 0 || u64::from(w) >= TILE_WIDTH {
                return None;
            }
            (n, w)
        }
        None => (rest, TILE_WIDTH as u32),
    };
    let mut index: u64 = 0;
    for group in digits.split('/') {
        let g = group.strip_prefix('x').unwrap_or(group);
        if g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(g.parse().ok()?)?;
    }
    let tile = if head == "entries" {
        TilePath::Entries { index, width }
    } else {
        let level: u8 = head.parse().ok()?;
        if level > 7 || head != level.to_string() {
            return None;
        }
        TilePath::Hashes {
            level,
            index,
            width,
        }
    };
    (tile.to_path() == path).then_some(tile)
}

/// Why an entry bundle cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryBundleError {
    /// The bundle ends inside an entry's two-byte length.
    #[error("the entry bundle ends inside the length of entry {0}")]
    InLength(usize),
    /// The bundle ends inside an entry.
    #[error("the entry bundle ends inside entry {0}")]
    InEntry(usize),
    /// An entry is longer than the two-byte length can say.
    #[error("entry {0} is {1} bytes; an entry bundle holds entries of at most 65,535")]
    TooLong(usize, usize),
}

/// The entries of a C2SP tlog-tiles entry bundle: each a big-endian `u16` length, then that
/// many bytes. Every byte belongs to an entry, or the bundle is refused.
pub fn split_entry_bundle(bundle: &[u8]) -> Result<Vec<&[u8]>, EntryBundleError> {
    let mut out = Vec::new();
    let mut rest = bundle;
    while !rest.is_empty() {
        let [hi, lo, after @ ..] = rest else {
            return Err(EntryBundleError::InLength(out.len()));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some((entry, next)) = after.split_at_checked(len) else {
            return Err(EntryBundleError::InEntry(out.len()));
        };
        out.push(entry);
        rest = next;
    }
    Ok(out)
}

/// The entry bundle holding `entries` in order (the inverse of [`split_entry_bundle`]).
pub fn entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, EntryBundleError> {
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| EntryBundleError::TooLong(i, e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_entry_bundle_splits_into_its_entries_and_a_cut_one_is_refused() {
        let entries: [&[u8]; 3] = [b"one", b"", b"three"];
        let bundle = entry_bundle(entries).unwrap();
        assert_eq!(bundle, b"\x00\x03one\x00\x00\x00\x05three");
        assert_eq!(split_entry_bundle(&bundle).unwrap(), entries);
        assert_eq!(
            split_entry_bundle(&bundle[..bundle.len() - 1]),
            Err(EntryBundleError::InEntry(2))
        );
        assert_eq!(
            split_entry_bundle(&bundle[..6]),
            Err(EntryBundleError::InLength(1))
        );
        let long = vec![0u8; 65_536];
        assert_eq!(
            entry_bundle([long.as_slice()]),
            Err(EntryBundleError::TooLong(0, 65_536))
        );
    }

    #[test]
    fn spec_examples_parse() {
        assert_eq!(
            parse_tile_path("tile/0/x001/x234/067"),
            Some(TilePath::Hashes {
                level: 0,
                index: 1_234_067,
                width: 256
            })
        );
        assert_eq!(
            parse_tile_path("tile/entries/000.p/17"),
            Some(TilePath::Entries {
                index: 0,
                width: 17
            })
        );
        assert_eq!(parse_tile_path("tile/1/x000/001"), None, "not canonical");
        assert_eq!(parse_tile_path("tile/0/1234067"), None);
        assert_eq!(
            parse_tile_path("tile/0/000.p/256"),
            None,
            "a full tile has no .p"
        );
        assert_eq!(
            parse_tile_path("tile/8/000"),
            None,
            "level 8 would be beyond 64 bits"
        );
        assert_eq!(parse_tile_path("tile/0/000.p/0"), None);
    }

    #[test]
    fn leaves_needed_scale_with_the_level() {
        let t = TilePath::Hashes {
            level: 1,
            index: 2,
            width: 3,
        };
        assert_eq!(t.leaves_needed(), Some((2 * 256 + 3) << 8));
        assert_eq!(
            TilePath::Entries { index: 1, width: 5 }.leaves_needed(),
            Some(261)
        );
    }

    proptest! {
        #[test]
        fn paths_round_trip(level in 0u8..8, index in 0u64..10_000_000_000, width in 1u32..=256, entries: bool) {
            let t = if entries { TilePath::Entries { index, width } } else { TilePath::Hashes { level, index, width } };
            prop_assert_eq!(parse_tile_path(&t.to_path()), Some(t));
        }

        #[test]
        fn arbitrary_paths_never_panic(s in "tile/[0-9a-z./]{0,40}") {
            if let Some(t) = parse_tile_path(&s) {
                prop_assert_eq!(t.to_path(), s);
            }
        }
    }
}
