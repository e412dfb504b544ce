//! Detection of outside contact details in user text.
//!
//! The marketplace refuses texts that would take a buyer and a seller off the
//! platform: emails, links, phone numbers, @handles and "find me on
//! WhatsApp"-style messages. This is a heuristic over Arabic and English text,
//! not a parser: it aims to catch the usual ways people write, and thinly
//! disguise, contact details while letting ordinary service talk (prices,
//! durations, versions, ratings, dates) through.
//!
//! Std only and no start-up state: the text is normalised once into a
//! `Vec<char>` and each detector is a single linear pass over it. All indexing
//! is bounds-checked through `get` or guarded ranges, so no input panics.

/// What kind of contact detail a text shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    Email,
    Url,
    Phone,
    Handle,
    MessagingApp,
}

/// The first kind of contact detail found in `text`, if any.
///
/// "First" means earliest in the text. When two kinds start at the same place
/// (`ali.com@x.com` is also a domain, `wa.me` is also an app name) the one
/// declared first in [`ContactKind`] wins, as it is the more specific.
pub fn find_contact_details(text: &str) -> Option<ContactKind> {
    let mut s = normalize(text);
    deobfuscate(&mut s);
    let s = s.as_slice();
    [
        (ContactKind::Email, find_email(s)),
        (ContactKind::Url, find_url(s)),
        (ContactKind::Phone, find_phone(s)),
        (ContactKind::Handle, find_handle(s)),
        (ContactKind::MessagingApp, find_messaging_app(s)),
    ]
    .into_iter()
    .filter_map(|(kind, at)| Some((at?, kind)))
    // `min_by_key` keeps the first of equal minima, i.e. the declaration order.
    .min_by_key(|&(at, _)| at)
    .map(|(_, kind)| kind)
}

/// Digits needed, after separators are dropped, to read as a phone number.
const MIN_PHONE_DIGITS: usize = 7;

/// Digits anywhere in the text that, with an app name, read as "reach me there".
const MIN_APP_DIGITS: usize = 5;

/// Top-level domains that make `word.tld` a link. Deliberately not every TLD:
/// ones that are also file extensions (`ai`, `md`, `py`, `rs`, `sh`, `zip`) or
/// words that start sentences after a missing space (`it`, `is`, `in`, `to`,
/// `so`, `no`, `one`, `mr`, `id`) would flag ordinary talk.
const TLDS: &[&str] = &[
    // Generic.
    "com", "net", "org", "edu", "gov", "info", "biz", "io", "co", "me", "app", "dev", "xyz",
    "online", "site", "store", "shop", "tech", "link", "live", "pro", "club", "vip", "blog",
    "website", "cloud", "digital", "icu", "mobi", "asia", "eu",
    // Used by link shorteners and profile links.
    "ly", "be", "gl", "gg", "tv", "fm", "cc", "ws", "tk", // Arab countries.
    "sa", "eg", "ae", "ma", "dz", "tn", "jo", "kw", "qa", "bh", "om", "iq", "lb", "sy", "ps", "ye",
    "sd", // Other common country codes.
    "uk", "us", "ca", "au", "nz", "de", "fr", "nl", "ch", "ru", "tr", "ir", "pk", "cn", "jp", "kr",
    "br", "mx", "ng", "ke", "za",
];

/// `label.tld` pairs that are technology names, not addresses.
const NOT_DOMAINS: &[(&str, &str)] = &[
    ("asp", "net"),
    ("vb", "net"),
    ("ado", "net"),
    ("dot", "net"),
    ("socket", "io"),
];

/// Words that stand for a dot between a name and a TLD (`site dot com`).
/// Normalised spelling: `نقطة` is stored as `نقطه`.
const SPOKEN_DOTS: &[&str] = &["dot", "دوت", "نقطه", "."];

/// Arabic for "dot com", written entirely in Arabic letters.
const SPOKEN_DOMAINS: &[&str] = &["دوت كوم", "نقطه كوم"];

/// Latin app names; matched as whole words (no ASCII letter on either side) so
/// that `install` or `signals` do not count. A space matches a short gap.
const LATIN_APPS: &[&str] = &[
    "whatsapp",
    "whats app",
    "whatsap",
    "watsapp",
    "wats app",
    "watsap",
    "wa.me",
    "telegram",
    "viber",
    "signal",
    "skype",
    "snapchat",
    "snap chat",
    "instagram",
    "insta",
    "facebook",
    "face book",
    "messenger",
    "wechat",
    "discord",
];

/// Arabic app names, in normalised spelling; matched anywhere because Arabic
/// glues prefixes onto words (`بالواتساب`, `عالتلغرام`).
const ARABIC_APPS: &[&str] = &[
    "واتساب",
    "واتس",
    "وتساب",
    "تلغرام",
    "تليغرام",
    "تيليغرام",
    "تلجرام",
    "تليجرام",
    "تيليجرام",
    "تلقرام",
    "تليقرام",
    "تلكرام",
    "تلگرام",
    "فايبر",
    "سكايب",
    "سناب",
    "انستغرام",
    "انستقرام",
    "انستجرام",
    "انستگرام",
    "انستا",
    "اينستا",
    "فيسبوك",
    "فيس بوك",
    "ماسنجر",
    "مسنجر",
    "سيجنال",
    "ديسكورد",
];

/// What may follow `@` and digits when the `@` means "at" (`@5pm`, `@10usd`,
/// `@4k`) rather than introducing a handle.
const UNIT_SUFFIXES: &[&str] = &[
    "am",
    "pm",
    "h",
    "hr",
    "hrs",
    "min",
    "mins",
    "d",
    "k",
    "m",
    "p",
    "x",
    "fps",
    "usd",
    "sar",
    "aed",
    "egp",
    "kwd",
    "qar",
    "omr",
    "bhd",
    "jod",
    "mad",
    "ص",
    "م",
    "ريال",
    "دولار",
    "جنيه",
    "درهم",
    "دينار",
];

// ---------------------------------------------------------------------------
// Normalisation

/// Folds the text into one comparable form: every supported digit script to
/// ASCII, fullwidth forms to ASCII, ASCII to lower case, Arabic letter variants
/// to one spelling. Invisible format characters, tatweel and harakat are
/// dropped: they are the cheapest way to split a number or a word without
/// changing how it reads.
fn normalize(text: &str) -> Vec<char> {
    text.chars().filter_map(normalize_char).collect()
}

fn normalize_char(c: char) -> Option<char> {
    if let Some(d) = digit_value(c) {
        return Some(char::from(b'0' + d));
    }
    let c = match c {
        '\u{00AD}'
        | '\u{061C}'
        | '\u{0640}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}' => return None,
        // Fullwidth ASCII sits at a fixed offset from ASCII.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        '\u{FE6B}' => '@',
        '\u{066B}' | '\u{2024}' | '\u{3002}' | '\u{FE52}' | '\u{FF61}' => '.',
        '\u{066C}' => ',',
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' | 'ی' => 'ي',
        'ة' => 'ه',
        'ک' => 'ك',
        _ => c,
    };
    Some(c.to_ascii_lowercase())
}

/// The value of a decimal digit in the scripts people use to write numbers
/// here (plus mathematical digits, a known way around filters).
fn digit_value(c: char) -> Option<u8> {
    let zero = match c {
        '0'..='9' => '0',
        '\u{0660}'..='\u{0669}' => '\u{0660}',
        '\u{06F0}'..='\u{06F9}' => '\u{06F0}',
        '\u{0966}'..='\u{096F}' => '\u{0966}',
        // Five styles of 0-9 in a row.
        '\u{1D7CE}'..='\u{1D7FF}' => return u8::try_from((u32::from(c) - 0x1D7CE) % 10).ok(),
        _ => return None,
    };
    u8::try_from(u32::from(c) - u32::from(zero)).ok()
}

/// Undoes spelled-out symbols in place: `[at]`, `(dot)`, `site dot com`,
/// `site . com`. The output is never longer than the input, so writing behind
/// the read position is safe.
fn deobfuscate(s: &mut Vec<char>) {
    let (mut r, mut w) = (0, 0);
    while r < s.len() {
        let replaced = match bracketed_symbol(&s[r..]) {
            Some(found) => Some(found),
            None => spoken_dot(&s[..w], &s[r..]).map(|len| ('.', len)),
        };
        match replaced {
            Some((symbol, len)) => {
                // `ali [at] gmail` reads as `ali@gmail`: spaces around go too.
                while w > 0 && s[w - 1].is_whitespace() {
                    w -= 1;
                }
                s[w] = symbol;
                w += 1;
                r += len;
                while r < s.len() && s[r].is_whitespace() {
                    r += 1;
                }
            }
            None => {
                s[w] = s[r];
                w += 1;
                r += 1;
            }
        }
    }
    s.truncate(w);
}

/// `[at]`, `(at)`, `{@}`, `<dot>`, `[.]`… at the start of `rest`: the symbol
/// and how many characters it spans.
fn bracketed_symbol(rest: &[char]) -> Option<(char, usize)> {
    // A little padding inside the brackets only; a wide gap is not an address.
    const MAX_PAD: usize = 2;
    let close = match rest.first()? {
        '[' => ']',
        '(' => ')',
        '{' => '}',
        '<' => '>',
        _ => return None,
    };
    let pad = |from: usize| {
        rest.get(from..)
            .map_or(0, |r| r.iter().take_while(|c| c.is_whitespace()).count())
    };
    let mut i = 1;
    let lead = pad(i);
    if lead > MAX_PAD {
        return None;
    }
    i += lead;
    let word = rest.get(i..)?;
    let (symbol, len) = if starts_with(word, "at") {
        ('@', 2)
    } else if starts_with(word, "dot") {
        ('.', 3)
    } else if starts_with(word, "@") {
        ('@', 1)
    } else if starts_with(word, ".") {
        ('.', 1)
    } else {
        return None;
    };
    i += len;
    let trail = pad(i);
    if trail > MAX_PAD {
        return None;
    }
    i += trail;
    (rest.get(i) == Some(&close)).then_some((symbol, i + 1))
}

/// `site dot com`, `site . com`, `site نقطة com`: a dot spelled out as its own
/// word between a name and a known TLD. Returns the length of the word and the
/// space after it. `net` is left out: "dot net" is how people say .NET.
fn spoken_dot(before: &[char], rest: &[char]) -> Option<usize> {
    // Cheap test first so long runs of spaces are not rescanned per character.
    let word = SPOKEN_DOTS.iter().find(|w| starts_with(rest, w))?;
    if !before.last().is_some_and(|c| c.is_whitespace()) {
        return None;
    }
    let left = before.iter().rev().find(|c| !c.is_whitespace())?;
    if !is_label(*left) {
        return None;
    }
    let mut i = word.chars().count();
    let gap = rest
        .get(i..)?
        .iter()
        .take_while(|c| c.is_whitespace())
        .count();
    if gap == 0 {
        return None;
    }
    i += gap;
    let tld = ascii_label_at(rest, i);
    (is_known_tld(tld) && !eq_str(tld, "net")).then_some(i)
}

// ---------------------------------------------------------------------------
// Character classes and small matchers

/// A character of a domain label. Letters of any script count so that
/// internationalised names (`متجري.com`) are caught too.
fn is_label(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

/// A character of an email's local part.
fn is_local(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')
}

/// What people put between the digits of a phone number: any spacing or
/// punctuation, Arabic included (`050_123_4567`, `٠٥٠،١٢٣،٤٥٦٧`). Not
/// the characters that give numbers a meaning of their own: `:` (times),
/// `#` (order numbers), `$` and `%` (amounts), `@` (handles), `×` and the
/// arithmetic signs other than `+`.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.'
                | '('
                | ')'
                | '['
                | ']'
                | '{'
                | '}'
                | '+'
                | '/'
                | '\\'
                | '_'
                | '*'
                | ','
                | ';'
                | '|'
                | '!'
                | '?'
                | '~'
                | '\''
                | '"'
                | '`'
                | '\u{00A1}'
                | '\u{00A7}'
                | '\u{00AB}'
                | '\u{00B6}'
                | '\u{00B7}'
                | '\u{00BB}'
                | '\u{00BF}'
                // Arabic comma, semicolon, question mark, star, full stop.
                | '\u{060C}'
                | '\u{061B}'
                | '\u{061F}'
                | '\u{066D}'
                | '\u{06D4}'
                // General punctuation: dashes, quotes, bullets, ellipsis.
                | '\u{2010}'..='\u{2027}'
                | '\u{2030}'..='\u{205E}'
                | '\u{2212}'
                | '\u{3001}'
                | '\u{30FB}'
        )
}

/// The run of ASCII label characters starting at `i` (empty when out of range).
fn ascii_label_at(s: &[char], i: usize) -> &[char] {
    let rest = s.get(i..).unwrap_or(&[]);
    let len = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '-')
        .count();
    &rest[..len]
}

fn starts_with(s: &[char], pat: &str) -> bool {
    let mut it = s.iter();
    pat.chars().all(|p| it.next() == Some(&p))
}

fn eq_str(s: &[char], pat: &str) -> bool {
    s.len() == pat.chars().count() && starts_with(s, pat)
}

fn is_known_tld(label: &[char]) -> bool {
    TLDS.iter().any(|t| eq_str(label, t))
}

/// Matches `pat` at `s[i..]`, a space in `pat` standing for a short gap of
/// spaces, dashes or underscores (`whats app`, `whats-app`). Returns the end.
fn match_at(s: &[char], mut i: usize, pat: &str) -> Option<usize> {
    const MAX_GAP: usize = 3;
    for p in pat.chars() {
        if p == ' ' {
            let gap = s
                .get(i..)?
                .iter()
                .take(MAX_GAP + 1)
                .take_while(|c| c.is_whitespace() || matches!(c, '-' | '_'))
                .count();
            if gap == 0 || gap > MAX_GAP {
                return None;
            }
            i += gap;
        } else if s.get(i) == Some(&p) {
            i += 1;
        } else {
            return None;
        }
    }
    Some(i)
}

// ---------------------------------------------------------------------------
// Emails

fn find_email(s: &[char]) -> Option<usize> {
    (0..s.len())
        .filter(|&i| s[i] == '@')
        .find_map(|at| email_at(s, at))
}

/// Where the email around the `@` at `at` starts, if it is one: a local part
/// with a letter or digit, then a domain of two or more labels ending in an
/// alphabetic TLD. Any TLD counts here; the `@` is evidence enough.
fn email_at(s: &[char], at: usize) -> Option<usize> {
    let before = s.get(..at)?;
    let local_len = before.iter().rev().take_while(|&&c| is_local(c)).count();
    let local = &before[at - local_len..];
    if !local.iter().any(|c| c.is_alphanumeric()) {
        return None;
    }
    let domain = s.get(at + 1..)?;
    let (mut i, mut labels, mut last) = (0, 0, 0..0);
    loop {
        let len = domain
            .get(i..)
            .map_or(0, |r| r.iter().take_while(|&&c| is_label(c)).count());
        if len == 0 {
            break;
        }
        labels += 1;
        last = i..i + len;
        i += len;
        // A trailing dot (end of sentence) just ends the domain.
        if domain.get(i) != Some(&'.') {
            break;
        }
        i += 1;
    }
    let tld = &domain[last];
    (labels >= 2 && tld.len() >= 2 && tld.iter().all(|c| c.is_alphabetic()))
        .then_some(at - local_len)
}

// ---------------------------------------------------------------------------
// Links

fn find_url(s: &[char]) -> Option<usize> {
    [
        find_scheme(s),
        find_www(s),
        find_domain(s),
        find_spoken_domain(s),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// `http://…`, `https://…`, `tg://…`: letters, `://`, then something.
fn find_scheme(s: &[char]) -> Option<usize> {
    (0..s.len()).find_map(|i| {
        let followed = s.get(i + 3).is_some_and(|c| !c.is_whitespace());
        if !starts_with(&s[i..], "://") || !followed {
            return None;
        }
        let scheme = s[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphabetic())
            .count();
        (scheme > 0).then_some(i - scheme)
    })
}

/// `www.` at the start of a word, followed by a name.
fn find_www(s: &[char]) -> Option<usize> {
    (0..s.len()).find(|&i| {
        starts_with(&s[i..], "www.")
            && s.get(i + 4).is_some_and(|&c| is_label(c))
            && (i == 0 || !is_label(s[i - 1]))
    })
}

/// `name.tld`, `a.b.tld/path`, with a TLD from [`TLDS`]. Returns the start of
/// the first label.
fn find_domain(s: &[char]) -> Option<usize> {
    for dot in (1..s.len()).filter(|&i| s[i] == '.') {
        if !is_label(s[dot - 1]) {
            continue;
        }
        let tld = ascii_label_at(s, dot + 1);
        if !is_known_tld(tld) {
            continue;
        }
        let label_len = s[..dot].iter().rev().take_while(|&&c| is_label(c)).count();
        let label_start = dot - label_len;
        let single_label = label_start == 0 || s[label_start - 1] != '.';
        let label = &s[label_start..dot];
        if single_label
            && NOT_DOMAINS
                .iter()
                .any(|(l, t)| eq_str(label, l) && eq_str(tld, t))
        {
            continue;
        }
        // Walk back over any further `label.` in front (`shop.example.com`).
        let mut start = label_start;
        while start >= 2 && s[start - 1] == '.' && is_label(s[start - 2]) {
            start -= 1;
            while start > 0 && is_label(s[start - 1]) {
                start -= 1;
            }
        }
        return Some(start);
    }
    None
}

/// "dot com" spelled wholly in Arabic (`متجري دوت كوم`).
fn find_spoken_domain(s: &[char]) -> Option<usize> {
    (0..s.len()).find(|&i| SPOKEN_DOMAINS.iter().any(|p| match_at(s, i, p).is_some()))
}

// ---------------------------------------------------------------------------
// Phone numbers

/// Runs of 7+ digits, joined across separators. Digits split by letters or
/// by `:`, `#`, `$`, `%` or `@` do not join, nor do dates, year
/// spans, round price ranges and the cents of a decimal amount.
fn find_phone(s: &[char]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        if !s[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = 0;
        // Once a dot has joined two groups (`050.123.4567`) later dots are
        // separators too, not decimal points.
        let mut dotted = false;
        loop {
            // `i` is at the first digit of a group.
            if let Some(end) = not_a_phone_at(s, i) {
                i = end;
                break;
            }
            let group = i;
            while i < s.len() && s[i].is_ascii_digit() {
                i += 1;
            }
            digits += i - group;
            if digits >= MIN_PHONE_DIGITS {
                return Some(start);
            }
            if !dotted && let Some(end) = decimal_fraction(s, i) {
                i = end;
                break;
            }
            let gap = i;
            while i < s.len() && is_separator(s[i]) {
                dotted |= s[i] == '.';
                i += 1;
            }
            if i == gap || !s.get(i).is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
        }
    }
    None
}

/// The `.50` of `12500.50`: a dot and one or two digits not followed by
/// another dotted group. Returns where it ends.
fn decimal_fraction(s: &[char], i: usize) -> Option<usize> {
    if s.get(i) != Some(&'.') {
        return None;
    }
    let (_, len, end) = number(s, i + 1)?;
    let continues = s.get(end) == Some(&'.') && s.get(end + 1).is_some_and(|c| c.is_ascii_digit());
    (len <= 2 && !continues).then_some(end)
}

/// Number shapes that join digits with separators yet are not phone numbers:
/// dates (`2024-05-01`, `01/05/2024`), year spans (`2015 - 2020`) and round
/// price ranges (`500-1000`). Returns where the shape ends.
fn not_a_phone_at(s: &[char], i: usize) -> Option<usize> {
    let (a, a_len, j) = number(s, i)?;
    let year = |v: u32| (1900..=2099).contains(&v);
    let day = |v: u32| (1..=31).contains(&v);
    let month = |v: u32| (1..=12).contains(&v);

    // Dates: three groups, one separator, no spaces.
    if let Some(&sep) = s.get(j).filter(|c| matches!(c, '-' | '/' | '.'))
        && let Some((b, b_len, k)) = number(s, j + 1)
        && s.get(k) == Some(&sep)
        && let Some((c, c_len, end)) = number(s, k + 1)
    {
        let ymd = a_len == 4 && year(a) && b_len <= 2 && month(b) && c_len <= 2 && day(c);
        let dmy = a_len <= 2 && b_len <= 2 && c_len == 4 && year(c) && day(a) && day(b);
        if (ymd || (dmy && a.min(b) <= 12)) && ends_cleanly(s, end) {
            return Some(end);
        }
    }

    // Ranges: two groups around a dash (or a slash for years), a little space.
    let pad = |from: usize| {
        s.get(from..).map_or(0, |r| {
            r.iter().take(3).take_while(|c| c.is_whitespace()).count()
        })
    };
    let k = j + pad(j);
    let dash = *s.get(k)?;
    if !matches!(dash, '-' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}') {
        return None;
    }
    let k = k + 1 + pad(k + 1);
    let (b, b_len, end) = number(s, k)?;
    let years = a_len == 4 && b_len == 4 && year(a) && year(b) && b > a;
    // Round on both ends and no leading zero: `500-1000`, not `555-1234`.
    let prices = dash != '/'
        && a_len <= 6
        && b_len <= 6
        && s[i] != '0'
        && s[k] != '0'
        && a % 10 == 0
        && b % 10 == 0
        && b > a;
    ((years || prices) && ends_cleanly(s, end)).then_some(end)
}

/// The ASCII number at `i`: its value (saturated; only short ones matter), its
/// length and where it ends.
fn number(s: &[char], i: usize) -> Option<(u32, usize, usize)> {
    let digits = s.get(i..)?;
    let len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 {
        return None;
    }
    let value = digits[..len].iter().fold(0u32, |v, c| {
        v.saturating_mul(10)
            .saturating_add(c.to_digit(10).unwrap_or(0))
    });
    Some((value, len, i + len))
}

/// A date or range is only one if no further dashed or dotted group follows.
fn ends_cleanly(s: &[char], end: usize) -> bool {
    let joined = s
        .get(end)
        .is_some_and(|c| matches!(c, '-' | '/' | '.' | '\u{2010}'..='\u{2015}'));
    !(joined && s.get(end + 1).is_some_and(|c| c.is_ascii_digit()))
}

// ---------------------------------------------------------------------------
// Handles

fn find_handle(s: &[char]) -> Option<usize> {
    (0..s.len()).find(|&i| s[i] == '@' && is_handle_at(s, i))
}

/// `@name`, `@ali_99`, `@محمد`, but not the `@` of an email, and not `@` used
/// as "at" before a time, price or quantity (`@5pm`, `@100`, `@4.5`).
fn is_handle_at(s: &[char], at: usize) -> bool {
    let rest = s.get(at + 1..).unwrap_or(&[]);
    let len = rest
        .iter()
        .take_while(|&&c| c.is_alphanumeric() || c == '_' || c == '.')
        .count();
    let mut token = &rest[..len];
    while let Some((&'.', head)) = token.split_last() {
        token = head;
    }
    let Some(&first) = token.first() else {
        return false;
    };
    if first == '.' || email_at(s, at).is_some() {
        return false;
    }
    if first.is_ascii_digit() {
        let number = token
            .iter()
            .take_while(|c| c.is_ascii_digit() || **c == '.')
            .count();
        let suffix = &token[number..];
        return !suffix.is_empty() && !UNIT_SUFFIXES.iter().any(|u| eq_str(suffix, u));
    }
    true
}

// ---------------------------------------------------------------------------
// Messaging apps

/// An app name, when the text also holds enough digits to be a number or an
/// ID to look up there. Returns where the name starts.
fn find_messaging_app(s: &[char]) -> Option<usize> {
    if s.iter().filter(|c| c.is_ascii_digit()).count() < MIN_APP_DIGITS {
        return None;
    }
    let latin_at = |i: usize| {
        (i == 0 || !s[i - 1].is_ascii_alphabetic())
            && LATIN_APPS.iter().any(|app| {
                match_at(s, i, app)
                    .is_some_and(|end| !s.get(end).is_some_and(|c| c.is_ascii_alphabetic()))
            })
    };
    let arabic_at = |i: usize| ARABIC_APPS.iter().any(|app| match_at(s, i, app).is_some());
    (0..s.len()).find(|&i| may_start_app(s[i]) && (latin_at(i) || arabic_at(i)))
}

/// The first letters of [`LATIN_APPS`] and [`ARABIC_APPS`]: most positions
/// are ruled out with one comparison instead of one per app name.
fn may_start_app(c: char) -> bool {
    matches!(
        c,
        'd' | 'f' | 'i' | 'm' | 's' | 't' | 'v' | 'w' | 'ا' | 'ت' | 'د' | 'س' | 'ف' | 'م' | 'و'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContactKind::*;

    fn check(kind: Option<ContactKind>, texts: &[&str]) {
        for text in texts {
            assert_eq!(find_contact_details(text), kind, "text: {text:?}");
        }
    }

    #[test]
    fn emails() {
        check(
            Some(Email),
            &[
                "ali@gmail.com",
                "Contact: Ali.Hassan+work@Company.co.uk.",
                "mail me at ali_99@hotmail.com please",
                "راسلني على ali@gmail.com",
                "بريدي mohamed.s@outlook.sa شكرا",
                "ali [at] gmail [dot] com",
                "ali(at)gmail(dot)com",
                "ali { at } gmail < dot > com",
                "ali [@] gmail [.] com",
                "ali＠gmail．com",
                "ALI@GMAIL.COM",
                "ali@company.internalmail",
                "ali\u{200B}@gmail\u{200B}.com",
            ],
        );
    }

    #[test]
    fn urls() {
        check(
            Some(Url),
            &[
                "http://x.co",
                "see https://example.org/path?q=1",
                "HTTPS://EXAMPLE.ORG",
                "visit www.site.com for samples",
                "www.portfolio",
                "site.com",
                "mysite.net/path",
                "my shop is store.sa",
                "portfolio at shop.example.com.eg/items",
                "bit.ly/abc",
                "t.me/ali",
                "wa.me/966501234567",
                "tg://resolve?domain=ali",
                "متجري.com",
                "موقعي mysite.io",
                "mysite dot com",
                "mysite . com",
                "mysite [dot] org",
                "mysite دوت com",
                "mysite نقطة com",
                "موقعي متجر دوت كوم",
                "done.Thanks.com",
                "Google.Com",
                "gmail\u{200B}.com",
            ],
        );
    }

    #[test]
    fn phones() {
        check(
            Some(Phone),
            &[
                "+966 50 123 4567",
                "call 0501234567",
                "٠٥٠١٢٣٤٥٦٧",
                "۰۵۰-۱۲۳-۴۵۶۷",
                "050.123.4567",
                "(050) 123-4567",
                "050/123/4567",
                "050\u{00A0}123\u{00A0}4567",
                "050\u{200B}123\u{200F}4567",
                "050–123–4567",
                "رقمي ٠٥٠ ١٢٣ ٤٥٦٧ اتصل بي",
                "اتصل على 00966501234567",
                "１２３４５６７",
                "𝟎𝟓𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕",
                "0 5 0 1 2 3 4",
                "number:1234567",
                "phone0501234567",
                "0501234567.50",
                "050.12.34567",
                "555-1234",
                "192.168.1.1",
                "050_123_4567",
                "050*123*4567",
                "050|123|4567",
                "050, 123, 4567",
                "٠٥٠،١٢٣،٤٥٦٧",
                "٠٥٠؛١٢٣؛٤٥٦٧",
                "050 _ 123 ,, 4567",
                "«050» 123…4567",
                "050'123'4567",
            ],
        );
    }

    #[test]
    fn handles() {
        check(
            Some(Handle),
            &[
                "@ali_99",
                "follow @someone",
                "تابعني @ali_99",
                "حسابي @محمد",
                "@_x",
                "dm @99ali",
                "ali@gmail",
                "me@home",
                "انستا @someone",
            ],
        );
    }

    #[test]
    fn messaging_apps() {
        check(
            Some(MessagingApp),
            &[
                "whatsapp me 05012",
                "WhatsApp: 12345",
                "whats app 12 345",
                "whats-app 12345",
                "Telegram 12345",
                "viber 12345",
                "skype id 12345",
                "signal 12345",
                "snapchat 12345",
                "instagram 12345",
                "insta: 12345",
                "facebook 12345",
                "messenger 12345",
                "whatsapp 0501234567",
                "واتساب ٠٥٠١٢",
                "تواصل معي على الواتس 12345",
                "كلمني بالواتساب ١٢٣٤٥",
                "وتساب 12345",
                "واتـــساب 12345",
                "تلغرام 55555",
                "تيليجرام 55555",
                "تليجرام 55555",
                "فايبر 12345",
                "سكايب 12345",
                "سناب 12345",
                "إنستغرام 12345",
                "انستا 12345",
                "فيسبوك 12345",
                "فيس بوك 12345",
            ],
        );
    }

    #[test]
    fn earliest_detail_wins() {
        assert_eq!(find_contact_details("0501234567 or whatsapp"), Some(Phone));
        assert_eq!(
            find_contact_details("whatsapp or 0501234567"),
            Some(MessagingApp)
        );
        assert_eq!(find_contact_details("ali@gmail.com then @bob"), Some(Email));
        assert_eq!(
            find_contact_details("@bob then ali@gmail.com"),
            Some(Handle)
        );
        assert_eq!(find_contact_details("site.com or 0501234567"), Some(Url));
        // Same start: the more specific kind.
        assert_eq!(find_contact_details("ali.com@gmail.com"), Some(Email));
        assert_eq!(find_contact_details("wa.me 12345"), Some(Url));
    }

    #[test]
    fn ordinary_service_talk_passes() {
        check(
            None,
            &[
                "",
                "سأسلم التصميم خلال 3 أيام بسعر 25 دولار",
                "سأسلم التصميم خلال ٣ أيام بسعر ٢٥ دولار",
                "I need a logo, version 2.0, by Friday",
                "order #12345 costs $15.50",
                "rating 4.5/5",
                "التقييم ٤٫٥ من ٥",
                "Order 12345 and order 67890",
                "3 days, $25",
                "v1.2 is out, 4.5 stars",
                "done.Thanks for the quick reply",
                "e.g. the U.S. market, i.e. big",
                "I use ASP.NET, VB.NET and Node.js",
                "I know dot net and socket.io",
                "send logo.ai, logo.psd and logo.png",
                "Great work!!! 10/10 would hire again.",
                "Delivery on 2024-05-01 at 10:30",
                "deadline 01/05/2024 or 2024.05.01",
                "experience 2015-2020 and 2019 - 2023",
                "budget 500-1000 USD",
                "الميزانية 1000 - 2000 دولار",
                "Price: 12500.00 3 revisions",
                "1920x1080 banner, 1920 × 1080",
                "meeting @5pm or @ 6",
                "2 logos @100 each, @4.5 rating, @10usd",
                "I'll send it via WhatsApp",
                "Telegram sticker pack, 3 packs for $20",
                "Please install version 10 of the plugin, order 5555",
                "signals project, order 12345",
                "instant delivery: order 12345",
                "Contact me through the platform chat.",
                "email me here on the site",
                "polka dot dress",
                "١٢٣ ٤٥٦",
                "123 456",
                "مرحبا، أستطيع تصميم شعار احترافي لمتجرك مع 3 تعديلات مجانية",
                "سعر الباقة 150 دولار والتسليم خلال 5 أيام عمل",
                "الطلب رقم 12345",
            ],
        );
    }

    #[test]
    fn thresholds() {
        assert_eq!(find_contact_details("123456"), None);
        assert_eq!(find_contact_details("1234567"), Some(Phone));
        assert_eq!(find_contact_details("12 34 56"), None);
        assert_eq!(find_contact_details("12 34 5a67"), None);
        assert_eq!(find_contact_details("whatsapp 1234"), None);
        assert_eq!(find_contact_details("whatsapp 12 34 5"), Some(MessagingApp));
        assert_eq!(find_contact_details("whatsapp"), None);
    }

    #[test]
    fn constants_are_in_normalised_form() {
        let lists = [
            TLDS,
            SPOKEN_DOTS,
            SPOKEN_DOMAINS,
            LATIN_APPS,
            ARABIC_APPS,
            UNIT_SUFFIXES,
        ];
        for word in lists.iter().flat_map(|l| l.iter()) {
            let normalised: String = normalize(word).into_iter().collect();
            assert_eq!(&normalised, word);
        }
        for app in LATIN_APPS.iter().chain(ARABIC_APPS) {
            assert!(app.chars().next().is_some_and(may_start_app), "{app}");
        }
        for (label, tld) in NOT_DOMAINS {
            assert!(is_known_tld(&normalize(tld)), "{label}.{tld}");
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        let odd = [
            "",
            "@",
            "@@@",
            ".",
            "..",
            ".com",
            "a.",
            "..com",
            "www.",
            "www",
            "http://",
            "://",
            "://x",
            "[",
            "[at",
            "[at]",
            "(dot)",
            "[ at ]",
            "a [at]",
            "[dot] com",
            " dot com",
            "dot",
            "٠",
            "\u{200B}",
            "\u{FEFF}@",
            "\0\0\0",
            "💩@💩.💩",
            "a@b",
            "a@b.",
            "a@.b",
            "@.",
            "-",
            "+",
            "(((",
            "1.",
            "1..2",
            "1.2.3.4.5.6.7.8",
            "2024-05-",
            "2024-05-01-",
            "9999999999999999999999999999",
            "1-",
            "-1",
            "1 - ",
            "500-",
            "@1",
            "@1.",
            "@.1",
            "e\u{301}@x.com",
            "ﷺ@ﷺ.ﷺ",
            "𝟎",
            "\u{10FFFF}",
            "whats ",
            "whats   \u{3000}app",
        ];
        for text in odd {
            let _ = find_contact_details(text);
        }
    }

    #[test]
    fn large_adversarial_input_is_fast() {
        let n = 200_000;
        let inputs = [
            "a.".repeat(n),
            "@a".repeat(n),
            "a@".repeat(n),
            ".a@".repeat(n),
            "1a".repeat(n),
            "1.".repeat(n),
            "1-0".repeat(n),
            "[ ".repeat(n),
            "://".repeat(n),
            "asp.net.".repeat(n),
            format!("{}dot com", " ".repeat(n)),
            format!("x{} dot com", " ".repeat(n)),
            "whats ".repeat(n) + "12345",
            "2024-05-01 ".repeat(n),
            "500-1000 ".repeat(n),
            "٠".repeat(n),
        ];
        let started = std::time::Instant::now();
        for text in &inputs {
            let _ = find_contact_details(text);
        }
        // Generous: a quadratic pass over these would take minutes.
        assert!(started.elapsed().as_secs() < 20);
    }

    /// A small deterministic generator; no crates needed.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            usize::try_from(self.next() % n as u64).unwrap_or(0)
        }
    }

    const ALPHABET: &[char] = &[
        'a',
        'd',
        'o',
        't',
        'w',
        'c',
        'm',
        's',
        'x',
        '0',
        '1',
        '5',
        '9',
        '٠',
        '٥',
        '۵',
        '@',
        '.',
        '-',
        '/',
        '(',
        ')',
        '[',
        ']',
        '+',
        ' ',
        '\u{A0}',
        '\u{200B}',
        ':',
        '_',
        '#',
        '$',
        'و',
        'ا',
        'ت',
        'س',
        'ب',
        'ـ',
        'ة',
        'é',
        '💩',
        '\u{301}',
        '\n',
        '\u{10FFFF}',
        '＠',
        '．',
    ];

    fn random_text(rng: &mut XorShift) -> String {
        let len = rng.below(40);
        (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len())])
            .collect()
    }

    #[test]
    fn fuzz_no_panics_and_invariants() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let text = random_text(&mut rng);
            let found = find_contact_details(&text);

            // Invisible characters change nothing.
            let spaced: String = text.chars().flat_map(|c| [c, '\u{200B}']).collect();
            assert_eq!(find_contact_details(&spaced), found, "{text:?}");

            // Neither does the digit script nor ASCII case.
            let arabic: String = text
                .chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) if c.is_ascii_digit() => char::from_u32(0x0660 + d).unwrap_or(c),
                    _ => c,
                })
                .collect();
            assert_eq!(find_contact_details(&arabic), found, "{text:?}");
            assert_eq!(
                find_contact_details(&text.to_ascii_uppercase()),
                found,
                "{text:?}"
            );
        }
    }
}
