//! Id generation: time-ordered so that "newest first" is also id order,
//! random so ids cannot be guessed or enumerated.

use khamsa_domain::Timestamp;
use rand::RngCore;
use std::sync::Mutex;

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The last id's time and randomness, so ids made by one process within
/// the same millisecond still sort in the order they were made (ULID's
/// monotonic rule): messages sent in one millisecond read in order.
static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));

const RANDOM_BITS: u32 = 80;

/// `prefix_` + 10 characters of milliseconds + 16 of randomness (80 bits).
pub fn new_id(prefix: &str, now: Timestamp) -> String {
    let (ms, bits) = next(now.millis().max(0) as u64);
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..10).rev() {
        out.push(CROCKFORD[((ms >> (i * 5)) & 31) as usize] as char);
    }
    for i in (0..16).rev() {
        out.push(CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char);
    }
    out
}

fn next(now_ms: u64) -> (u64, u128) {
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let (ms, bits) = if now_ms > last.0 {
        let mut rnd = [0u8; 16];
        rand::rng().fill_bytes(&mut rnd);
        // Start in the lower half so increments within the millisecond
        // cannot overflow the 80 bits.
        (now_ms, u128::from_be_bytes(rnd) >> (128 - RANDOM_BITS + 1))
    } else {
        (last.0, last.1 + 1)
    };
    *last = (ms, bits);
    (ms, bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_differ() {
        let a = new_id("ord", Timestamp(1_700_000_000_000));
        let b = new_id("ord", Timestamp(1_700_000_000_001));
        assert!(a < b);
        assert_ne!(new_id("ord", Timestamp(5)), new_id("ord", Timestamp(5)));
        assert_eq!(a.len(), 4 + 26);
    }

    #[test]
    fn ids_made_in_one_millisecond_keep_their_order() {
        let ids: Vec<String> = (0..1000)
            .map(|_| new_id("msg", Timestamp(1_900_000_000_000)))
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }
}
