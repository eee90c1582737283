//! Cursor paging over the transport: the thin async step around the
//! [`crate::protocol::paging::Cursor`], which decides where a listing ends.

use std::future::Future;

use crate::error::Result;

pub use crate::protocol::paging::{Cursor, Page};

/// Fetches the next page of the listing with `fetch` (given the key to send, `None` for the
/// first page) and records it in `cursor`. `None` once the listing has ended, without a request.
pub async fn next_page<P, F, Fut>(cursor: &mut Cursor, fetch: F) -> Result<Option<P>>
where
    P: Page,
    F: FnOnce(Option<String>) -> Fut,
    Fut: Future<Output = Result<P>>,
{
    if cursor.is_done() {
        return Ok(None);
    }
    let page = fetch(cursor.key().map(str::to_string)).await?;
    Ok(cursor.advance(&page).then_some(page))
}
