//! Case-insensitive keys for logins and slugs (GitHub's are), hashed,
//! compared and sorted eight bytes at a time without lowercase copies: the
//! listing folds and the planner looks up hundreds of thousands of them.

/// A login or slug that compares, hashes and orders ignoring ASCII case,
/// without allocating a lowercase copy (GitHub logins are case-insensitive;
/// the planner looks up hundreds of thousands of them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ci<'a>(pub(crate) &'a str);

impl PartialEq for Ci<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Ci<'_> {}

/// ASCII-lowercase eight bytes at once: add 0x20 to each byte in `A..=Z`,
/// leave every other byte (including non-ASCII ones) as it is.
fn lower8(x: u64) -> u64 {
    const HI: u64 = 0x8080_8080_8080_8080;
    let low7 = x & !HI;
    let ge_a = low7 + 0x3f3f_3f3f_3f3f_3f3f; // high bit set where byte >= b'A'
    let gt_z = low7 + 0x2525_2525_2525_2525; // high bit set where byte > b'Z'
    let upper = ge_a & !gt_z & !x & HI;
    x | (upper >> 2)
}

/// Bytes `i..i+8` of `s` as a lowercased big-endian word, zero-padded past
/// the end (logins hold no NUL, so padding sorts a prefix first).
#[inline]
fn lowered_word(s: &[u8], i: usize) -> u64 {
    let w = match s.get(i..i + 8) {
        Some(chunk) => u64::from_be_bytes(chunk.try_into().unwrap_or([0; 8])),
        None => {
            let tail = s.get(i..).unwrap_or(&[]);
            let mut w = 0u64;
            for &b in tail {
                w = (w << 8) | u64::from(b);
            }
            if tail.is_empty() {
                0
            } else {
                w << (8 * (8 - tail.len()))
            }
        }
    };
    lower8(w)
}

impl std::hash::Hash for Ci<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let s = self.0.as_bytes();
        let mut i = 0;
        while i < s.len() {
            h.write_u64(lowered_word(s, i));
            i += 8;
        }
        h.write_usize(s.len());
    }
}

impl Ord for Ci<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let mut i = 0;
        while i < a.len() || i < b.len() {
            let (x, y) = (lowered_word(a, i), lowered_word(b, i));
            if x != y {
                return x.cmp(&y);
            }
            i += 8;
        }
        a.len().cmp(&b.len())
    }
}

impl Ci<'_> {
    /// The first 16 lowered bytes as two words: a cheap sort key whose order
    /// agrees with `Ord` wherever it differs.
    fn prefix(&self) -> (u64, u64) {
        let s = self.0.as_bytes();
        (lowered_word(s, 0), lowered_word(s, 8))
    }
}

/// Sort items by a case-insensitive key, comparing precomputed prefixes
/// first: 100,000 logins sort several times faster than with `Ci::cmp`.
/// Ties between spellings of one login break on the exact spelling.
pub(crate) fn sort_ci<'k, T>(items: &mut Vec<T>, key: impl Fn(&T) -> Ci<'k>) {
    let mut keyed: Vec<((u64, u64), usize)> = items
        .iter()
        .enumerate()
        .map(|(i, t)| (key(t).prefix(), i))
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            let (ka, kb) = (key(&items[a.1]), key(&items[b.1]));
            ka.cmp(&kb).then(ka.0.cmp(kb.0))
        })
    });
    let mut slots: Vec<Option<T>> = items.drain(..).map(Some).collect();
    items.extend(keyed.into_iter().filter_map(|(_, i)| slots[i].take()));
}

impl PartialOrd for Ci<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Merge two iterators sorted by key into one sorted iterator, without
/// collecting either (rosters of 100,000 logins stay streams).
pub(crate) fn merge_sorted<'a>(
    a: impl Iterator<Item = (Ci<'a>, &'a str)>,
    b: impl Iterator<Item = (Ci<'a>, &'a str)>,
) -> impl Iterator<Item = (Ci<'a>, &'a str)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
        (Some(_), Some(_)) => b.next(),
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}

/// A hash index of case-insensitive keys that stores only positions in
/// the caller's own slice: four bytes a key, no copy of any login (a
/// `HashMap<String, usize>` of lowercase copies cost about 7 MiB at
/// 100,000 seats).
pub(crate) struct CiIndex {
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for CiIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CiIndex")
            .field("len", &self.table.len())
            .finish()
    }
}

impl CiIndex {
    /// An empty index with room for `n` keys.
    pub(crate) fn with_capacity(n: usize) -> CiIndex {
        CiIndex {
            table: hashbrown::HashTable::with_capacity(n),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    /// An index of positions `0..n`, the first of equal keys kept.
    pub(crate) fn of<'k>(n: usize, key_at: impl Fn(usize) -> Ci<'k>) -> CiIndex {
        let mut index = CiIndex::with_capacity(n);
        for i in 0..n {
            index.insert(i, &key_at);
        }
        index
    }

    fn hash(&self, key: Ci<'_>) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, key)
    }

    /// The position stored under `key`; `key_at` reads the key at a position.
    pub(crate) fn get<'k>(&self, key: Ci<'_>, key_at: impl Fn(usize) -> Ci<'k>) -> Option<usize> {
        self.table
            .find(self.hash(key), |&i| key_at(i as usize) == key)
            .map(|&i| i as usize)
    }

    /// Store position `i` under its key unless the key is there already:
    /// `None` when stored, else the position that holds the key (the first
    /// one wins).
    pub(crate) fn insert<'k>(
        &mut self,
        i: usize,
        key_at: impl Fn(usize) -> Ci<'k>,
    ) -> Option<usize> {
        let key = key_at(i);
        let hash = self.hash(key);
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |&j| key_at(j as usize) == key,
            |&j| std::hash::BuildHasher::hash_one(hasher, key_at(j as usize)),
        ) {
            hashbrown::hash_table::Entry::Occupied(o) => Some(*o.get() as usize),
            hashbrown::hash_table::Entry::Vacant(v) => {
                // Positions fit in u32: listings are capped far below 4 billion.
                v.insert(u32::try_from(i).unwrap_or(u32::MAX));
                None
            }
        }
    }

    /// Every stored position, in no particular order.
    pub(crate) fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.table.iter().map(|&i| i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_ascii_case_only() {
        #[rustfmt::skip]
        let cases = [
            ("alice", "ALICE", true),
            ("a-very-long-login-name", "A-Very-Long-Login-NAME", true),
            ("alice", "alice2", false),
            ("ä", "Ä", false),
        ];
        for (a, b, same) in cases {
            assert_eq!(Ci(a) == Ci(b), same, "{a} {b}");
            assert_eq!(
                Ci(a).cmp(&Ci(b)) == std::cmp::Ordering::Equal,
                same,
                "{a} {b}"
            );
        }
        let mut v = vec!["b", "A", "a-long-login-1", "a", "C", "a-long-login-0"];
        sort_ci(&mut v, |s| Ci(s));
        assert_eq!(
            v,
            vec!["A", "a", "a-long-login-0", "a-long-login-1", "b", "C"]
        );
    }

    #[test]
    fn the_index_finds_keys_ignoring_case_and_keeps_the_first() {
        let keys = ["alice", "Bob", "ALICE", "carol", "bob"];
        let at = |i: usize| Ci(keys[i]);
        let mut index = CiIndex::with_capacity(1);
        let stored: Vec<Option<usize>> = (0..keys.len()).map(|i| index.insert(i, at)).collect();
        assert_eq!(stored, [None, None, Some(0), None, Some(1)]);
        let built: Vec<usize> = {
            let mut p: Vec<usize> = CiIndex::of(keys.len(), at).positions().collect();
            p.sort();
            p
        };
        assert_eq!(built, [0, 1, 3], "of() keeps the first of equal keys");
        #[rustfmt::skip]
        let cases = [("ALICE", Some(0)), ("bob", Some(1)), ("Carol", Some(3)), ("dave", None), ("alic", None)];
        for (key, want) in cases {
            assert_eq!(index.get(Ci(key), at), want, "{key}");
        }
        let mut all: Vec<usize> = index.positions().collect();
        all.sort();
        assert_eq!(all, [0, 1, 3]);
    }

    #[test]
    fn merge_keeps_key_order_across_both_streams() {
        let a = ["Alice", "carol", "eve"].map(|s| (Ci(s), s));
        let b = ["bob", "Dave"].map(|s| (Ci(s), s));
        let merged: Vec<&str> = merge_sorted(a.into_iter(), b.into_iter())
            .map(|(_, s)| s)
            .collect();
        assert_eq!(merged, ["Alice", "bob", "carol", "Dave", "eve"]);
    }
}
