//! Sorting and map building that compile once, whatever the element type. Every `sort_by`
//! closure type, and every `BTreeMap<K, V>` built by `collect()` (which sorts its input), would
//! instantiate the standard library's whole stable sort again: kilobytes of wasm each, in the
//! Workflow file's module too, which carries the engine for `sync`'s rule allocation. The results
//! are those of `sort_by` (stable) and of `collect` (a later duplicate key wins); the engine's
//! golden files and proptests hold them to it.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The stable order of `n` items under `cmp`, as indices: the one instantiation of the sort.
fn stable_order(n: usize, cmp: &mut dyn FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| cmp(a, b));
    idx
}

/// `v.sort_by(cmp)`: stable, through `stable_order` (one index sort for every element type).
pub fn sort_by<T>(v: &mut Vec<T>, mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let idx = stable_order(v.len(), &mut |a, b| cmp(&v[a], &v[b]));
    let mut slots: Vec<Option<T>> = std::mem::take(v).into_iter().map(Some).collect();
    v.extend(idx.into_iter().filter_map(|i| slots[i].take()));
}

/// `it.collect::<BTreeMap<K, V>>()` without the sort: inserted one by one, a later duplicate
/// key replacing an earlier one.
pub fn map_of<K: Ord, V>(it: impl IntoIterator<Item = (K, V)>) -> BTreeMap<K, V> {
    let mut m = BTreeMap::new();
    for (k, v) in it {
        m.insert(k, v);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_as_the_standard_sort_and_collect() {
        let items: Vec<(u8, u32)> = (0..500u32).map(|i| (((i * 7919) % 13) as u8, i)).collect();
        let mut want = items.clone();
        want.sort_by_key(|a| a.0);
        let mut have = items.clone();
        sort_by(&mut have, |a, b| a.0.cmp(&b.0));
        assert_eq!(have, want, "stable: ties keep their order");
        let want: BTreeMap<u8, u32> = items.iter().copied().collect();
        assert_eq!(map_of(items.iter().copied()), want, "later duplicates win");
        let mut empty: Vec<u8> = Vec::new();
        sort_by(&mut empty, u8::cmp);
        assert!(empty.is_empty());
    }
}
