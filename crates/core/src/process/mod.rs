//! Pure, synchronous processing: no I/O, no clock.

pub mod charts;
pub mod cost_to_date;
pub mod forecast;
pub mod reconcile;

/// Sorts `items` by an integer key, stably (equal keys keep their order), through one unstable
/// sort of `(key, position)` pairs. Every caller shares that one sort instantiation instead of
/// a stable merge sort per element type (each ~3 KB of wasm; the Workflow module had five).
pub fn sort_by_key_stable<T>(items: &mut Vec<T>, key: impl Fn(&T) -> i64) {
    let mut order: Vec<(i64, usize)> = items.iter().map(&key).zip(0..).collect();
    // Unique pairs: the unstable sort gives the stable order.
    order.sort_unstable();
    let mut slots: Vec<Option<T>> = std::mem::take(items).into_iter().map(Some).collect();
    items.extend(order.iter().filter_map(|&(_, i)| slots[i].take()));
}

#[cfg(test)]
mod tests {
    #[test]
    fn sort_by_key_stable_keeps_ties_in_order() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (-2, 'd'), (1, 'e'), (3, 'f')];
        let mut want = v.clone();
        want.sort_by_key(|p| p.0);
        super::sort_by_key_stable(&mut v, |p| p.0);
        assert_eq!(v, want);
        let mut empty: Vec<(i64, char)> = Vec::new();
        super::sort_by_key_stable(&mut empty, |p| p.0);
        assert!(empty.is_empty());
    }
}
