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

/// A fast hasher for keys made only of numbers the program assigns itself (interned string
/// ids, tag set ids, day numbers): no caller-chosen bytes reach it, so flooding resistance buys
/// nothing there, and SipHash was a tenth of the allocation engine's time. Multiply-rotate
/// (FxHash's mixing); deterministic, as fuzzing wants.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    #[inline]
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
}

impl std::hash::Hasher for IdHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A hash map keyed by program-assigned ids (see [`IdHasher`]).
pub type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;
