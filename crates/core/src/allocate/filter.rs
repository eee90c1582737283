//! Filter conditions (contract §2c, §2i): case-sensitive; `like` is a whole-value glob with `*`
//! and `?`; the value `"null"` means "tag absent"; negative conditions are true when the tag is
//! absent, except `is not "null"` (tag present). Several filters are ANDed.

use std::collections::BTreeMap;

use super::rules::Filter;

/// Conditions taking `value`.
pub const VALUE_CONDITIONS: &[&str] = &[
    "is",
    "=",
    "is not",
    "!=",
    "contains",
    "does not contain",
    "like",
    "not like",
];
/// Conditions taking `values`.
pub const VALUES_CONDITIONS: &[&str] = &["in", "not in"];

/// Whether `condition` is one dps-cost knows.
pub fn is_known_condition(condition: &str) -> bool {
    VALUE_CONDITIONS.contains(&condition) || VALUES_CONDITIONS.contains(&condition)
}

/// Whether `condition` takes `values` (else `value`).
pub fn takes_values(condition: &str) -> bool {
    VALUES_CONDITIONS.contains(&condition)
}

/// Whether one filter holds for `tags`. An unknown condition never holds (rules are validated
/// before they are applied).
pub fn matches(filter: &Filter, tags: &BTreeMap<String, String>) -> bool {
    let tag = tags.get(&filter.tag).map(String::as_str);
    let value = filter.value.as_deref().unwrap_or("");
    let in_values = || {
        let values = filter.values.as_deref().unwrap_or(&[]);
        match tag {
            Some(t) => values.iter().any(|v| v == t),
            None => values.iter().any(|v| v == "null"),
        }
    };
    match filter.condition.as_str() {
        "is" | "=" => match (value, tag) {
            ("null", t) => t.is_none(),
            (v, Some(t)) => t == v,
            (_, None) => false,
        },
        "is not" | "!=" => match (value, tag) {
            ("null", t) => t.is_some(),
            (v, Some(t)) => t != v,
            (_, None) => true,
        },
        "contains" => tag.is_some_and(|t| t.contains(value)),
        "does not contain" => tag.is_none_or(|t| !t.contains(value)),
        "like" => tag.is_some_and(|t| glob(value, t)),
        "not like" => tag.is_none_or(|t| !glob(value, t)),
        "in" => in_values(),
        "not in" => !in_values(),
        _ => false,
    }
}

/// All filters hold (an empty list holds).
pub fn matches_all(filters: &[Filter], tags: &BTreeMap<String, String>) -> bool {
    filters.iter().all(|f| matches(f, tags))
}

/// Whole-value glob: `*` any run (also empty), `?` exactly one character; case-sensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn glob_whole_value() {
        assert!(glob("orgstore-csm*", "orgstore-csm-api"));
        assert!(glob("orgstore-csm*", "orgstore-csm"));
        assert!(!glob("orgstore-csm*", "x-orgstore-csm"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "ac"));
        assert!(glob("*b*", "abc"));
        assert!(!glob("ABC", "abc"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYbc"));
    }

    #[test]
    fn null_and_negatives() {
        let none = tags(&[]);
        let some = tags(&[("product", "x")]);
        let is_null = Filter::value("product", "is", "null");
        let not_null = Filter::value("product", "is not", "null");
        assert!(matches(&is_null, &none) && !matches(&is_null, &some));
        assert!(!matches(&not_null, &none) && matches(&not_null, &some));
        assert!(matches(&Filter::value("product", "!=", "y"), &none));
        assert!(matches(&Filter::value("product", "not like", "y*"), &none));
        assert!(matches(&Filter::values("product", "not in", &["x"]), &none));
        assert!(!matches(
            &Filter::values("product", "not in", &["x"]),
            &some
        ));
        assert!(matches(
            &Filter::value("product", "does not contain", "x"),
            &none
        ));
        assert!(!matches(&Filter::value("product", "contains", ""), &none));
        assert!(!matches(&Filter::value("product", "is", "X"), &some));
    }
}
