//! Hash maps and sets with std's SipHash, keyed at random in ordinary builds (resistance to
//! hash flooding by hostile keys) and with fixed keys under `cfg(fuzzing)` (cargo-fuzz sets it).
//! Where a key lands decides how many probes a lookup takes, which is control flow the fuzzer
//! sees as coverage: with random keys the same seed and run count explored different inputs on
//! every run, so the fuzz gate would not say the same thing twice.
//!
//! Build them with `HashMap::default()` (not `new`, which exists only for random keys).

/// The hasher builder of [`HashMap`] and [`HashSet`].
#[cfg(not(fuzzing))]
pub type State = std::collections::hash_map::RandomState;
/// The hasher builder of [`HashMap`] and [`HashSet`]: fixed keys, for reproducible fuzzing.
#[cfg(fuzzing)]
pub type State = std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher>;

pub type HashMap<K, V> = std::collections::HashMap<K, V, State>;
pub type HashSet<T> = std::collections::HashSet<T, State>;
