//! Cursor paging, once: follow `nextPageKey` until it is empty, absent or repeats.

use crate::hash::HashSet;

/// Where a cursor-paged listing stands.
#[derive(Debug, Default, Clone)]
pub struct Cursor {
    seen: HashSet<String>,
    next: Option<String>,
    done: bool,
    pages: u32,
}

impl Cursor {
    pub fn new() -> Self {
        Cursor::default()
    }

    /// The key to send with the next request (`None` for the first page).
    pub fn key(&self) -> Option<&str> {
        self.next.as_deref()
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Records a page's `nextPageKey`. An empty, absent or already seen key ends the listing
    /// (a server that hands out a key twice would otherwise loop forever).
    pub fn advance(&mut self, next: Option<String>) {
        self.pages += 1;
        match next.filter(|k| !k.trim().is_empty()) {
            Some(k) if self.seen.insert(k.clone()) => self.next = Some(k),
            _ => {
                self.next = None;
                self.done = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_on_empty_absent_or_repeated_keys() {
        let mut c = Cursor::new();
        assert_eq!(c.key(), None);
        c.advance(Some("a".into()));
        assert_eq!(c.key(), Some("a"));
        c.advance(Some("b".into()));
        c.advance(Some("a".into()));
        assert!(c.is_done());
        assert_eq!(c.pages(), 3);
        for end in [None, Some(String::new()), Some("  ".into())] {
            let mut c = Cursor::new();
            c.advance(end);
            assert!(c.is_done());
        }
    }
}
