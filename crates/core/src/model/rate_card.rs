//! `GET /sub/v1/accounts/{a}/rate-cards`. Prices arrive as strings; they stay exact decimals.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact decimal as the API wrote it (`"0.0035"`), validated, kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify), tsify(type = "string"))]
pub struct Decimal(String);

impl Decimal {
    /// Accepts `[-]digits[.digits]` (at most 40 characters).
    pub fn parse(s: &str) -> Option<Decimal> {
        let t = s.trim();
        let body = t.strip_prefix('-').unwrap_or(t);
        let mut parts = body.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next();
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if t.len() > 40 || !digits(int) || frac.is_some_and(|f| !digits(f)) {
            return None;
        }
        Some(Decimal(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Number(n) if n.is_finite() => zmij::Buffer::new().format_finite(n).to_string(),
            Raw::Number(_) => return Err(serde::de::Error::custom("not a finite number")),
        };
        Decimal::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{}` is not a decimal number",
                text.chars().take(40).collect::<String>()
            ))
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RateCardCapability {
    pub key: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub quoted_price: Option<Decimal>,
    #[serde(default)]
    pub quoted_unit_of_measure: Option<String>,
    #[serde(default)]
    pub price: Option<Decimal>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub deployment_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "tsify", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct RateCard {
    #[serde(default)]
    pub quote_number: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub capabilities: Vec<RateCardCapability>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_stay_exact_text() {
        let c: RateCardCapability =
            serde_json::from_str(r#"{"key":"X","price":"0.0035","quotedPrice":0.1}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.price.as_ref().map(Decimal::as_str), Some("0.0035"));
        assert_eq!(c.quoted_price.as_ref().map(Decimal::as_str), Some("0.1"));
        for bad in [r#""1e5""#, r#""abc""#, r#""1.""#, r#"".5""#, r#""""#] {
            assert!(serde_json::from_str::<Decimal>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::to_string(&c.price).unwrap_or_default(),
            r#""0.0035""#
        );
    }
}
