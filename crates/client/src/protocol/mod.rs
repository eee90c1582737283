//! The protocol rules, each written once and without I/O: state machines the caller drives
//! (ask for the next request or decision, send it, hand back the reply). Nothing here sends,
//! sleeps, reads a clock or awaits; times come in as numbers and replies as values, so every
//! rule is unit-tested by feeding it replies.
//!
//! | rule | machine | its async driver |
//! | --- | --- | --- |
//! | the end of a cursor-paged listing | [`paging::Cursor`] | [`crate::api::paging::next_page`] |
//! | when to send again (429, 5xx, network errors, budget) | [`retry::Retry`] | [`crate::http::send_with`] |
//! | a 401 drops the token and tries once more | [`refresh::Refresh`] | [`crate::api::AccountApi::send`] |
//! | ingest batches: size, 413 split, learned limit, partial 400 | [`batch::Batcher`] | [`crate::ingest::BatchSender`] |

pub mod batch;
pub mod paging;
pub mod refresh;
pub mod retry;
