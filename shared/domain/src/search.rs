//! Search over active services (product.md "Search"): Arabic-aware
//! normalisation, prefix matching and ranking, the same for every store.
//!
//! A service is searchable by the first [`MAX_DOC_WORDS`] distinct words of
//! its title, then its description. Each store finds candidates its own way
//! (DynamoDB through the word-head index of [`SearchDoc::heads`]), then
//! keeps and orders them with [`SearchQuery::rank`], so both answer alike.

use crate::error::{DomainError, DomainResult};
use crate::service::{Service, ServiceDraft, ServiceStats};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use unicode_normalization::UnicodeNormalization;

/// Words of a service that search reads: the whole of any usual title and
/// the start of its description. Bounds the index items one write adds.
pub const MAX_DOC_WORDS: usize = 32;
/// Words of a query that count; more is a `422`.
pub const MAX_QUERY_WORDS: usize = 8;
/// Characters of a query, before normalisation.
pub const MAX_QUERY_CHARS: usize = 100;
/// The index keys words by their first two and first three letters.
const HEAD_LENGTHS: [usize; 2] = [2, 3];

/// Folds one character the way product.md says search reads text; `None`
/// drops it (diacritics, tatweel).
fn fold(c: char) -> Option<char> {
    Some(match c {
        // Harakat, tanwin, shadda, sukun, superscript alef, Quranic marks.
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{06D6}'..='\u{06ED}' | '\u{0640}' => return None,
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' | 'ی' => 'ي',
        'ة' => 'ه',
        '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
        '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
        _ => c,
    })
}

/// The normalised words of `text`, in order: NFC, folded, lower-cased,
/// split at anything that is not a letter or a digit.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.nfc().filter_map(fold).flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn prefix(w: &str, n: usize) -> &str {
    match w.char_indices().nth(n) {
        Some((i, _)) => &w[..i],
        None => w,
    }
}

/// What search knows of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDoc {
    /// Distinct words of the title.
    title: BTreeSet<String>,
    /// Distinct words of title then description, at most [`MAX_DOC_WORDS`].
    all: Vec<String>,
}

impl SearchDoc {
    pub fn of(d: &ServiceDraft) -> SearchDoc {
        let title: BTreeSet<String> = words(&d.title).into_iter().collect();
        let mut all: Vec<String> = Vec::new();
        for w in words(&d.title).into_iter().chain(words(&d.description)) {
            if all.len() == MAX_DOC_WORDS {
                break;
            }
            if !all.contains(&w) {
                all.push(w);
            }
        }
        let title = title.into_iter().filter(|w| all.contains(w)).collect();
        SearchDoc { title, all }
    }

    /// Index keys: every word's first two and first three letters (the
    /// whole word when shorter). A query probes one of them, so the index
    /// holds a superset of the services that match and is never scanned.
    pub fn heads(&self) -> BTreeSet<String> {
        self.all
            .iter()
            .flat_map(|w| HEAD_LENGTHS.map(|n| prefix(w, n).to_owned()))
            .collect()
    }
}

fn invalid(reason: String) -> DomainError {
    DomainError::Invalid { field: "q", reason }
}

/// A parsed `?q=`: at least one word of two letters or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    words: Vec<String>,
}

impl SearchQuery {
    /// `Ok(None)` for a blank query: a search box left empty browses.
    pub fn parse(raw: &str) -> DomainResult<Option<SearchQuery>> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(invalid(format!(
                "a search has at most {MAX_QUERY_CHARS} characters"
            )));
        }
        let mut ws: Vec<String> = Vec::new();
        for w in words(raw) {
            if !ws.contains(&w) {
                ws.push(w);
            }
        }
        if ws.is_empty() {
            return Ok(None);
        }
        if ws.len() > MAX_QUERY_WORDS {
            return Err(invalid(format!(
                "a search has at most {MAX_QUERY_WORDS} words"
            )));
        }
        if ws.iter().all(|w| w.chars().count() < 2) {
            return Err(invalid(
                "a search needs a word of two letters or more".into(),
            ));
        }
        Ok(Some(SearchQuery { words: ws }))
    }

    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// The index key to read: the longest word's head (the first on a tie),
    /// three letters at most, so it holds every service that can match.
    pub fn probe(&self) -> String {
        let mut best = &self.words[0];
        for w in &self.words[1..] {
            if w.chars().count() > best.chars().count() {
                best = w;
            }
        }
        prefix(best, HEAD_LENGTHS[1]).to_owned()
    }

    /// `Some(title hits)` when every word is a prefix of a word of `doc`.
    pub fn matches(&self, doc: &SearchDoc) -> Option<usize> {
        if !self
            .words
            .iter()
            .all(|q| doc.all.iter().any(|w| w.starts_with(q.as_str())))
        {
            return None;
        }
        let in_title = |q: &&String| doc.title.iter().any(|w| w.starts_with(q.as_str()));
        Some(self.words.iter().filter(in_title).count())
    }

    /// Keeps the active services that match and orders them: more query
    /// words in the title first, then higher rating, then more completed
    /// orders, then newest, then by id, so every store gives one order.
    pub fn rank(&self, candidates: Vec<(Service, ServiceStats)>) -> Vec<(Service, ServiceStats)> {
        let mut hits: Vec<(usize, (Service, ServiceStats))> = candidates
            .into_iter()
            .filter(|(s, _)| s.status == crate::service::ServiceStatus::Active)
            .filter_map(|x| self.matches(&SearchDoc::of(&x.0.draft)).map(|n| (n, x)))
            .collect();
        hits.sort_by(|(na, (a, sa)), (nb, (b, sb))| {
            nb.cmp(na)
                .then_with(|| by_rating(sb, sa))
                .then_with(|| sb.orders_completed.cmp(&sa.orders_completed))
                .then_with(|| b.created_at.cmp(&a.created_at))
                .then_with(|| a.id.as_str().cmp(b.id.as_str()))
        });
        hits.into_iter().map(|(_, x)| x).collect()
    }
}

/// Compares average ratings exactly (a/b against c/d as a·d against c·b);
/// an unrated service counts as 0.
fn by_rating(a: &ServiceStats, b: &ServiceStats) -> Ordering {
    let l = u128::from(a.rating_sum) * u128::from(b.rating_count.max(1));
    let r = u128::from(b.rating_sum) * u128::from(a.rating_count.max(1));
    let l = if a.rating_count == 0 { 0 } else { l };
    let r = if b.rating_count == 0 { 0 } else { r };
    l.cmp(&r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_arabic_forms_digits_and_case() {
        assert_eq!(words("تَصْمِيمُ شعارٍ"), ["تصميم", "شعار"]);
        assert_eq!(words("أإآٱ"), ["اااا"]);
        assert_eq!(words("مستشفى مدرسة"), ["مستشفي", "مدرسه"]);
        assert_eq!(words("تـــصميم"), ["تصميم"]);
        assert_eq!(words("٣ شعارات ۴"), ["3", "شعارات", "4"]);
        assert_eq!(
            words("Logo DESIGN, 3D-art!"),
            ["logo", "design", "3d", "art"]
        );
        assert_eq!(words("تصميم،شعار؛ و(هوية)"), ["تصميم", "شعار", "و", "هويه"]);
    }

    #[test]
    fn blank_is_none_and_short_or_long_is_refused() {
        assert_eq!(SearchQuery::parse("  ").unwrap(), None);
        assert_eq!(SearchQuery::parse("،.!").unwrap(), None);
        let reason = |r: &str| match SearchQuery::parse(r) {
            Err(DomainError::Invalid { field: "q", reason }) => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason("a b").contains("two letters"));
        assert!(reason("a b c d e f g h i").contains("8 words"));
        assert!(reason(&"x".repeat(101)).contains("100 characters"));
        assert!(SearchQuery::parse("ab c").unwrap().is_some());
    }

    #[test]
    fn the_probe_is_a_head_of_every_matching_doc() {
        let q = SearchQuery::parse("ت تصميمات").unwrap().unwrap();
        assert_eq!(q.probe(), "تصم");
        let q = SearchQuery::parse("3d").unwrap().unwrap();
        assert_eq!(q.probe(), "3d");
    }
}
