//! The end of a cursor-paged listing, once: an empty page, or an empty, absent or repeated
//! `nextPageKey` ends it.

use crate::hash::HashSet;

/// A page of a cursor-paged listing, as the cursor sees it.
pub trait Page {
    /// The page holds no record (a listing ends there, whatever key it carries: the v3
    /// endpoints answer an empty last page with a key to the same empty page).
    fn is_empty(&self) -> bool;
    /// The key of the next page, as the server sent it.
    fn next_page_key(&self) -> Option<&str>;
}

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

    /// Pages handed to [`Cursor::advance`] so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Records a fetched page and says whether it belongs to the listing (`false` for an empty
    /// page, which ends it). An empty, absent or already seen key ends the listing after this
    /// page (a server that hands out a key twice would otherwise loop forever).
    pub fn advance(&mut self, page: &impl Page) -> bool {
        self.pages += 1;
        let empty = page.is_empty();
        let next = if empty { None } else { page.next_page_key() };
        match next.filter(|k| !k.trim().is_empty()) {
            Some(k) if self.seen.insert(k.to_string()) => self.next = Some(k.to_string()),
            _ => self.stop(),
        }
        !empty
    }

    /// Ends the listing (a caller that stops reading).
    pub fn stop(&mut self) {
        self.next = None;
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page with `records` records and a `next` key.
    struct P(usize, Option<&'static str>);

    impl Page for P {
        fn is_empty(&self) -> bool {
            self.0 == 0
        }
        fn next_page_key(&self) -> Option<&str> {
            self.1
        }
    }

    #[test]
    fn follows_keys_and_stops_on_a_repeated_one() {
        let mut c = Cursor::new();
        assert_eq!(c.key(), None, "the first request carries no key");
        assert!(c.advance(&P(3, Some("a"))));
        assert_eq!(c.key(), Some("a"));
        assert!(c.advance(&P(3, Some("b"))));
        assert_eq!(c.key(), Some("b"));
        assert!(
            c.advance(&P(3, Some("a"))),
            "the page itself is still part of the listing"
        );
        assert!(c.is_done());
        assert_eq!(c.key(), None);
        assert_eq!(c.pages(), 3);
    }

    #[test]
    fn an_empty_absent_or_blank_key_ends_after_the_page() {
        for end in [None, Some(""), Some("  ")] {
            let mut c = Cursor::new();
            assert!(c.advance(&P(1, end)));
            assert!(c.is_done(), "{end:?}");
        }
    }

    #[test]
    fn an_empty_page_ends_the_listing_whatever_its_key() {
        let mut c = Cursor::new();
        assert!(c.advance(&P(2, Some("a"))));
        assert!(
            !c.advance(&P(0, Some("b"))),
            "an empty page is not handed on"
        );
        assert!(c.is_done());
        assert_eq!(c.key(), None, "no request follows");
    }

    #[test]
    fn stop_ends_it() {
        let mut c = Cursor::new();
        c.advance(&P(1, Some("a")));
        c.stop();
        assert!(c.is_done() && c.key().is_none());
    }
}
