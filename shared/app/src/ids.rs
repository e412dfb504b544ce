//! Id generation: time-ordered so that "newest first" is also id order,
//! random so ids cannot be guessed or enumerated.

use khamsa_domain::Timestamp;
use rand::RngCore;

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// `prefix_` + 10 characters of milliseconds + 16 of randomness (80 bits).
pub fn new_id(prefix: &str, now: Timestamp) -> String {
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    let ms = now.millis().max(0) as u64;
    for i in (0..10).rev() {
        out.push(CROCKFORD[((ms >> (i * 5)) & 31) as usize] as char);
    }
    let mut rnd = [0u8; 10];
    rand::rng().fill_bytes(&mut rnd);
    let mut bits: u128 = 0;
    for b in rnd {
        bits = (bits << 8) | u128::from(b);
    }
    for i in (0..16).rev() {
        out.push(CROCKFORD[((bits >> (i * 5)) & 31) as usize] as char);
    }
    out
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
}
