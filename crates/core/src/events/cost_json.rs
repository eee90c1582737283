//! The fast path of cost-to-date + bizevents (`costEventsFromJson`): one text-in/text-out pass
//! from the `/cost` reply's JSON text → records sorted by start time with their exact running
//! total → `dps.subscription.status` plus one `dps.cost2.booked` per record, as JSON text.
//!
//! Its oracle is the general path, by the proptest `equals_the_general_path` at the end of this
//! file: the output is byte for byte `serde_json::to_string(&build_bizevents(…))` of the general path
//! ([`crate::process::cost_to_date`] + [`crate::events::bizevents`]); only the work differs: the
//! records borrow their strings from the input, the sort moves 16-byte keys, the event ids
//! continue a hash of the shared prefix, and every event is written straight into one
//! pre-sized `String` (no per-event allocation).

use std::borrow::Cow;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::events::bizevents::{subscription_status_event, PROVIDER, TYPE_COST_BOOKED};
use crate::events::event_id::EventIdPrefix;
use crate::model::cost::CostRecord;
use crate::model::subscription::SubscriptionDetails;
use crate::money::Amount;
use crate::time::{civil_from_days, ms_per_day, parse_timestamp_ms};

/// One record of the reply, borrowing its strings where they hold no escapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(borrow)]
    start_time: Cow<'a, str>,
    #[serde(borrow, default)]
    end_time: Option<Cow<'a, str>>,
    value: f64,
    #[serde(borrow, default)]
    last_booking_date: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(borrow)]
    data: Vec<RawRecord<'a>>,
}

/// The owned twin of [`Reply`]: decoded only to report a problem exactly as the general path
/// does (same codes, fields and messages).
#[derive(Deserialize)]
#[allow(dead_code)]
struct OwnedReply {
    data: Vec<CostRecord>,
}

/// Who the events belong to.
pub struct PipelineContext<'a> {
    pub subscription: &'a SubscriptionDetails,
    pub account_uuid: &'a str,
    pub account_name: &'a str,
    /// Picks the UTC day of the status event's `event.id`.
    pub now_ms: i64,
}

/// The events of a `/cost` reply (`{"data":[…]}`, or the bare record array) as a JSON array:
/// the subscription status first, then the cost days in start-time order (stable), each with
/// its exact `costToDate`. Errors: `INVALID_INPUT` naming the JSON path (`data[3].value`).
pub fn cost_events_json(reply: &str, ctx: &PipelineContext<'_>) -> Result<String> {
    let records = parse_records(reply)?;
    let (field_prefix, n) = (data_prefix(reply), records.len());

    // Keys and amounts first (every record checked before anything is written).
    let mut keyed: Vec<(i64, usize)> = Vec::with_capacity(n);
    let mut amounts: Vec<Amount> = Vec::with_capacity(n);
    for (i, r) in records.iter().enumerate() {
        let key = parse_timestamp_ms(&r.start_time).ok_or_else(|| {
            Error::invalid(
                format!("{field_prefix}[{i}].startTime"),
                format!(
                    "`{}` is not an ISO-8601 timestamp",
                    r.start_time.chars().take(40).collect::<String>()
                ),
            )
        })?;
        let amount = Amount::from_f64(r.value).ok_or_else(|| {
            Error::invalid(
                format!("{field_prefix}[{i}].value"),
                format!("must be a finite number below 1e24, got {}", r.value),
            )
        })?;
        keyed.push((key, i));
        amounts.push(amount);
    }
    // Unique (key, index) pairs: the unstable sort gives the stable order.
    keyed.sort_unstable();

    let sub_uuid = ctx.subscription.uuid.as_str();
    let status = subscription_status_event(ctx.subscription, ctx.account_uuid, ctx.now_ms);
    let status_json = serde_json::to_string(&status).map_err(internal)?;
    // The constant stretches of every cost event, escaped once.
    let head = r#"{"event.id":""#;
    let after_id = format!(
        r#"","event.type":{},"event.provider":{},"#,
        json_str(TYPE_COST_BOOKED)?,
        json_str(PROVIDER)?
    );
    let owner = format!(
        r#""subscriptionUuid":{},"accountUuid":{},"accountName":{},"startTime":""#,
        json_str(sub_uuid)?,
        json_str(ctx.account_uuid)?,
        json_str(ctx.account_name)?
    );
    let ids = EventIdPrefix::new(&[TYPE_COST_BOOKED, ctx.account_uuid, sub_uuid]);

    // Generous: untouched capacity costs nothing, a regrowth copies the whole text.
    let per_event = head.len() + 36 + after_id.len() + owner.len() + 240;
    let mut out = String::with_capacity(status_json.len() + 2 + n * per_event);
    out.push('[');
    out.push_str(&status_json);
    let mut sum = Amount::ZERO;
    let mut num = Vec::with_capacity(32);
    for &(start_ms, i) in &keyed {
        let r = &records[i];
        sum = sum
            .checked_add(amounts[i])
            .ok_or_else(|| Error::invalid("value", "the running total overflows"))?;
        let mut event_start = |start: &str| -> Result<()> {
            out.push(',');
            out.push_str(head);
            out.push_str(std::str::from_utf8(&ids.id(&[start])).map_err(internal)?);
            out.push_str(&after_id);
            if let Some(lbd) = &r.last_booking_date {
                out.push_str(r#""lastBookingDate":"#);
                push_time(&mut out, lbd)?;
                out.push(',');
            }
            out.push_str(&owner);
            out.push_str(start);
            Ok(())
        };
        if is_normal_form(&r.start_time) {
            event_start(&r.start_time)?;
        } else {
            with_iso(start_ms, event_start)?;
        }
        out.push_str(r#"","endTime":"#);
        match &r.end_time {
            Some(e) => push_time(&mut out, e)?,
            None => with_iso(start_ms + ms_per_day(), |end| {
                out.push('"');
                out.push_str(end);
                out.push('"');
            }),
        }
        out.push_str(r#","value":"#);
        push_f64(&mut out, &mut num, r.value)?;
        out.push_str(r#","costToDate":"#);
        push_f64(&mut out, &mut num, sum.to_f64())?;
        out.push('}');
    }
    out.push(']');
    Ok(out)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal {
        message: format!("cost pipeline: {e}"),
    }
}

fn json_str(s: &str) -> Result<String> {
    serde_json::to_string(s).map_err(internal)
}

/// `data` when the reply is the `{"data":[…]}` object, empty for a bare array.
fn data_prefix(reply: &str) -> &'static str {
    if reply.trim_start().starts_with('[') {
        ""
    } else {
        "data"
    }
}

fn parse_records(reply: &str) -> Result<Vec<RawRecord<'_>>> {
    let bare = data_prefix(reply).is_empty();
    let parsed = if bare {
        serde_json::from_str::<Vec<RawRecord<'_>>>(reply)
    } else {
        serde_json::from_str::<Reply<'_>>(reply).map(|r| r.data)
    };
    parsed.map_err(|_| {
        // The rare path: the owned types report the problem with its JSON path.
        let err = if bare {
            crate::model::decode_input::<Vec<CostRecord>>("reply", reply).err()
        } else {
            crate::model::decode_input::<OwnedReply>("reply", reply).err()
        };
        err.unwrap_or_else(|| internal("the reply decodes owned but not borrowed"))
    })
}

/// Instants of the years 0000 to 9999, the ones `iso_ms` writes.
const FOUR_DIGIT_YEARS: std::ops::Range<i64> = -62_167_219_200_000..253_402_300_800_000;

/// Whether a text that parses as a timestamp is already what `time::format_iso_ms` would write
/// for it (`YYYY-MM-DDTHH:MM:SS.sssZ`, seconds below 60), so it can be copied as it is.
fn is_normal_form(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z' && b[17] < b'6'
}

/// Calls `f` with `time::format_iso_ms(ms)`, written on the stack for four-digit years.
fn with_iso<R>(ms: i64, f: impl FnOnce(&str) -> R) -> R {
    if FOUR_DIGIT_YEARS.contains(&ms) {
        let b = iso_ms(ms);
        // ASCII digits and separators only.
        f(std::str::from_utf8(&b).unwrap_or_default())
    } else {
        f(&crate::time::format_iso_ms(ms))
    }
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` of an instant in [`FOUR_DIGIT_YEARS`].
fn iso_ms(ms: i64) -> [u8; 24] {
    let day = ms.div_euclid(ms_per_day());
    let rem = ms.rem_euclid(ms_per_day());
    let (y, m, d) = civil_from_days(day);
    let mut b = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: i64| {
        for k in (0..width).rev() {
            b[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, i64::from(m));
    put(8, 2, i64::from(d));
    put(11, 2, rem / 3_600_000);
    put(14, 2, rem % 3_600_000 / 60_000);
    put(17, 2, rem % 60_000 / 1000);
    put(20, 3, rem % 1000);
    b
}

/// A time field, normalised like the general path: timestamps in the `.sssZ` form, other text
/// kept as it is (escaped).
fn push_time(out: &mut String, s: &str) -> Result<()> {
    match parse_timestamp_ms(s) {
        Some(_) if is_normal_form(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        Some(ms) => with_iso(ms, |t| {
            out.push('"');
            out.push_str(t);
            out.push('"');
        }),
        None => out.push_str(&json_str(s)?),
    }
    Ok(())
}

/// An `f64` as serde_json writes it (`1.0`, `1e+21`; `null` when not finite).
fn push_f64(out: &mut String, scratch: &mut Vec<u8>, v: f64) -> Result<()> {
    use serde_json::ser::{CompactFormatter, Formatter};
    if !v.is_finite() {
        out.push_str("null");
        return Ok(());
    }
    scratch.clear();
    CompactFormatter.write_f64(scratch, v).map_err(internal)?;
    out.push_str(std::str::from_utf8(scratch).map_err(internal)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::bizevents::build_bizevents;
    use crate::process::cost_to_date::cost_to_date;
    #[cfg(not(target_arch = "wasm32"))]
    use proptest::prelude::*;

    fn sub() -> SubscriptionDetails {
        serde_json::from_str(
            r#"{"uuid":"5d0c8a7e-1b2f-4c3d-8e4f-a0b1c2d3e4f5","name":"ACME \"Global\"",
                "account":{"uuid":"c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3"},
                "budget":{"total":1000000,"used":27328.8794184588,"currencyCode":"EUR"},
                "currentPeriod":{"startTime":"2024-09-26","endTime":"2025-09-25","daysRemaining":313}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The general path: decode, cost_to_date, build_bizevents, serde_json.
    fn general(reply: &str, sub: &SubscriptionDetails, name: &str, now: i64) -> Result<String> {
        let v: serde_json::Value = serde_json::from_str(reply).map_err(internal)?;
        let data = v.get("data").cloned().unwrap_or(v);
        let recs: Vec<CostRecord> = crate::model::decode_input("reply", &data.to_string())?;
        let costs = cost_to_date(recs)?;
        let acc = "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3";
        serde_json::to_string(&build_bizevents(sub, acc, name, &costs, now)).map_err(internal)
    }

    fn fast(reply: &str, sub: &SubscriptionDetails, name: &str, now: i64) -> Result<String> {
        cost_events_json(
            reply,
            &PipelineContext {
                subscription: sub,
                account_uuid: "c4f3c4f3-c4f3-c4f3-c4f3-c4f3c4f3c4f3",
                account_name: name,
                now_ms: now,
            },
        )
    }

    const NOW: i64 = 1_730_000_000_000;

    #[test]
    fn same_bytes_as_the_general_path() {
        let reply = r#"{"data":[
            {"startTime":"2024-10-23T00:00:00Z","endTime":"2024-10-24T00:00:00Z","value":0.2,"currencyCode":"EUR","lastBookingDate":"2024-10-23T00:00:00Z"},
            {"startTime":"2024-10-22T00:00:00.000Z","endTime":"2024-10-23T00:00:00.000Z","value":0.1,"lastBookingDate":"2024-10-22T06:00:00.000+02:00"},
            {"startTime":"2024-10-24","value":1e21},
            {"startTime":"2024-10-22T00:00:00Z","endTime":"not a time \"q\"","value":-3,"lastBookingDate":null},
            {"startTime":"2024-10-25T00:00:00.000Z","endTime":null,"value":12.5,"lastBookingDate":"later\u00e9"},
            {"startTime":"2024-10-26t00:00:00.000Z","endTime":"2024-10-26T23:59:60.000Z","value":1,"lastBookingDate":"2024-10-26 01:02:03.000Z"}
        ],"lastModifiedTime":"2024-10-26T06:00:00Z"}"#;
        let s = sub();
        let want = general(reply, &s, "ACME \"Global\" ü", NOW).unwrap_or_else(|e| panic!("{e}"));
        let got = fast(reply, &s, "ACME \"Global\" ü", NOW).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, want);
        let bare =
            r#"[{"startTime":"2024-10-22","value":0.1},{"startTime":"2024-10-21","value":0.2}]"#;
        assert_eq!(
            fast(bare, &s, "n", NOW).unwrap_or_else(|e| panic!("{e}")),
            general(bare, &s, "n", NOW).unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(
            fast(r#"{"data":[]}"#, &s, "n", NOW).unwrap_or_else(|e| panic!("{e}")),
            general(r#"{"data":[]}"#, &s, "n", NOW).unwrap_or_else(|e| panic!("{e}"))
        );
    }

    #[test]
    fn typed_errors_name_the_field() {
        let s = sub();
        for (reply, code, field) in [
            (
                r#"{"data":[{"startTime":"2024-10-22","value":1},{"startTime":"x","value":1}]}"#,
                "INVALID_INPUT",
                "data[1].startTime",
            ),
            (
                r#"{"data":[{"startTime":"2024-10-22","value":1e30}]}"#,
                "INVALID_INPUT",
                "data[0].value",
            ),
            (
                r#"{"data":[{"startTime":"2024-10-22","value":"1"}]}"#,
                "INVALID_INPUT",
                "data[0].value",
            ),
            (
                r#"{"data":[{"value":1}]}"#,
                "INVALID_INPUT",
                "data[0].startTime",
            ),
            (
                r#"[{"startTime":"2024-10-22","value":null}]"#,
                "INVALID_INPUT",
                "[0].value",
            ),
            (r#"{"nodata":[]}"#, "INVALID_INPUT", "data"),
            ("{\"data\":[", "INVALID_INPUT", "data[0]"),
        ] {
            let e = fast(reply, &s, "n", NOW)
                .err()
                .unwrap_or_else(|| panic!("{reply}"));
            assert_eq!((e.code(), e.field()), (code, Some(field)), "{reply}: {e}");
        }
    }

    #[test]
    fn iso_matches_format_iso_ms() {
        for ms in [
            0,
            1,
            -1,
            86_399_999,
            1_729_555_200_000,
            951_782_400_123,
            FOUR_DIGIT_YEARS.start,
            FOUR_DIGIT_YEARS.end - 1,
            FOUR_DIGIT_YEARS.start - 1,
            FOUR_DIGIT_YEARS.end,
        ] {
            assert_eq!(
                with_iso(ms, str::to_string),
                crate::time::format_iso_ms(ms),
                "{ms}"
            );
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest! {
        #[test]
        fn equals_the_general_path(days in proptest::collection::vec((0i64..3000, 0u64..10_000_000_000, any::<bool>(), any::<bool>()), 0..60)) {
            let recs: Vec<serde_json::Value> = days.iter().map(|(d, v, seconds, end)| {
                let ms = 1_600_000_000_000 + d * 86_400_000;
                let t = crate::time::format_iso_ms(ms);
                let t = if *seconds { format!("{}Z", &t[..19]) } else { t };
                let mut r = serde_json::json!({"startTime": t, "value": *v as f64 / 1e6, "currencyCode": "USD", "lastBookingDate": t});
                if *end { r["endTime"] = serde_json::json!(crate::time::format_iso_ms(ms + 86_400_000)); }
                r
            }).collect();
            let reply = serde_json::json!({"data": recs}).to_string();
            let s = sub();
            prop_assert_eq!(fast(&reply, &s, "a", NOW).unwrap_or_else(|e| panic!("{e}")), general(&reply, &s, "a", NOW).unwrap_or_else(|e| panic!("{e}")));
        }
    }
}
