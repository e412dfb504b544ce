#!/usr/bin/env python3
"""Writes search_corpus.json: services and queries with their expected hits.

The expected hits come from this file's own reading of product.md "Search",
written apart from the Rust code, so the corpus test compares two
implementations of the rules rather than one with itself.

    python3 tests/api/corpus/search_corpus.py   # rewrites the JSON beside it
"""
import json
import random
import re
import unicodedata
from pathlib import Path

MAX_DOC_WORDS = 32
DIACRITICS = set(range(0x064B, 0x0660)) | {0x0670} | set(range(0x06D6, 0x06EE)) | {0x0640}
FOLD = {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ة": "ه"}


def norm_words(text):
    out = []
    for ch in unicodedata.normalize("NFC", text):
        cp = ord(ch)
        if cp in DIACRITICS:
            continue
        if 0x0660 <= cp <= 0x0669:
            ch = str(cp - 0x0660)
        elif 0x06F0 <= cp <= 0x06F9:
            ch = str(cp - 0x06F0)
        ch = FOLD.get(ch, ch).lower()
        out.append(ch)
    s = "".join(out)
    return [w for w in re.split(r"[^\w]|_", s) if w]


def doc(title, description):
    words = []
    for w in norm_words(title) + norm_words(description):
        if len(words) == MAX_DOC_WORDS:
            break
        if w not in words:
            words.append(w)
    title_words = {w for w in norm_words(title) if w in words}
    return words, title_words


def hits(query, services, category=None):
    q = []
    for w in norm_words(query):
        if w not in q:
            q.append(w)
    found = {}
    for s in services:
        if category and s["category"] != category:
            continue
        words, title = doc(s["title"], s["description"])
        if all(any(w.startswith(x) for w in words) for x in q):
            found[s["key"]] = sum(1 for x in q if any(w.startswith(x) for w in title))
    return found


rnd = random.Random(5)
# (spellings of one word: the rules fold them all to one form)
AR_WORDS = {
    "design": ["تصميم", "تَصْمِيم", "تصـــميم"],
    "logo": ["شعار", "شِعَار"],
    "translation": ["ترجمة", "تَرْجَمَة"],
    "article": ["مقالة", "مقاله"],
    "ad": ["إعلان", "اعلان"],
    "best": ["أفضل", "افضل"],
    "pro": ["احترافي", "إحترافي"],
    "video": ["فيديو", "فِيدْيُو"],
    "montage": ["مونتاج"],
    "voice": ["تعليق صوتي", "تَعْلِيق صَوْتِي"],
    "site": ["موقع", "مَوْقِع"],
    "hospital": ["مستشفى", "مستشفي"],
    "card": ["بطاقة", "بطاقه"],
    "business": ["أعمال", "اعمال"],
    "market": ["تسويق", "تَسْوِيق"],
    "social": ["التواصل الاجتماعي", "التواصل الإجتماعي"],
    "cv": ["سيرة ذاتية", "سيره ذاتيه"],
    "arabic": ["العربية", "العربيه"],
    "english": ["الإنجليزية", "الانجليزيه"],
    "store": ["متجر", "مَتْجَر"],
    "quran": ["القرآن", "القران"],
    "lesson": ["درس", "دروس"],
    "mosque": ["مسجد"],
    "writing": ["كتابة", "كتابه"],
    "review": ["تدقيق", "تَدْقِيق"],
    "photo": ["صورة", "صوره"],
    "edit": ["تعديل"],
}
AR_TEMPLATES = [
    ("design", "logo", "pro", "design"),
    ("translation", "article", "english", "writing-translation"),
    ("design", "ad", "social", "marketing"),
    ("montage", "video", "best", "video"),
    ("voice", "ad", "arabic", "audio"),
    ("design", "site", "store", "programming"),
    ("design", "card", "business", "design"),
    ("writing", "cv", "pro", "writing-translation"),
    ("review", "article", "arabic", "writing-translation"),
    ("lesson", "quran", "mosque", "teaching"),
    ("edit", "photo", "pro", "design"),
    ("market", "store", "social", "marketing"),
    ("writing", "article", "hospital", "writing-translation"),
]
AR_DIGITS = ["٣", "3", "٥", "5", "١٠", "10", "۴", "4"]
EN_TEMPLATES = [
    ("I will design a {a} logo for your {b}", "design"),
    ("I will translate your {b} from English to Arabic", "writing-translation"),
    ("I will edit your {b} video in {n} days", "video"),
    ("I will record a {a} voice over for your {b}", "audio"),
    ("I will build a WordPress website for your {b}", "programming"),
    ("I will write {n} SEO articles about your {b}", "writing-translation"),
    ("I will create 3D models for your {b}", "design"),
    ("I will manage your social media {b}", "marketing"),
]
EN_A = ["modern", "minimalist", "professional", "creative", "vintage", "Arabic"]
EN_B = ["brand", "business", "startup", "store", "channel", "podcast", "restaurant", "clinic"]
EN_N = ["2", "3", "5", "٣", "٥"]


def ar_title(t):
    w = [rnd.choice(AR_WORDS[k]) for k in t[:3]]
    extra = rnd.choice(["", " " + rnd.choice(AR_DIGITS) + " نماذج", " خلال يومين", " بجودة عالية"])
    return f"{w[0]} {w[1]} {w[2]}{extra}", t[3]


services = []
for i in range(120):
    title, cat = ar_title(AR_TEMPLATES[i % len(AR_TEMPLATES)])
    desc = rnd.choice([
        "خدمة سريعة ومضمونة مع تعديلات مجانية",
        "أسلّم العمل بصيغ مختلفة مع ملفات المصدر",
        "تَعَامُل راقٍ وتسليم في الموعد",
        "خبرة طويلة في " + rnd.choice(AR_WORDS["market"] + AR_WORDS["writing"]),
        "أقدّم " + rnd.choice(AR_DIGITS) + " مقترحات للاختيار",
    ])
    services.append({"key": f"ar{i:03}", "title": title, "description": desc, "category": cat})
for i in range(80):
    tmpl, cat = EN_TEMPLATES[i % len(EN_TEMPLATES)]
    title = tmpl.format(a=rnd.choice(EN_A), b=rnd.choice(EN_B), n=rnd.choice(EN_N))
    if i % 5 == 0:
        title = title.upper()
    desc = rnd.choice([
        "Fast delivery, unlimited revisions, source files included.",
        "Over ten years of experience with clients worldwide.",
        "Native speaker, proofread twice before delivery.",
        "Includes a free consultation and a detailed report.",
    ])
    services.append({"key": f"en{i:03}", "title": title, "description": desc, "category": cat})

QUERIES = [
    ("تصميم", None), ("تَصميم", None), ("تصـميم شعار", None), ("شعار احترافي", None),
    ("اعلان", None), ("إعلان", None), ("أعلان", None), ("افضل فيديو", None),
    ("ترجمه", None), ("ترجمة مقالة", None), ("مقاله", None), ("مستشفي", None),
    ("مستشفى", None), ("بطاقه اعمال", None), ("أعمال", None), ("تسويق", None),
    ("التواصل الاجتماعي", None), ("الاجتماعي", None), ("سيرة", None), ("ذاتيه", None),
    ("العربيه", None), ("الانجليزية", None), ("متجر", None), ("القران", None),
    ("القرآن درس", None), ("مسجد", None), ("كتابة", None), ("تدقيق", None),
    ("صوره", None), ("تعديل صورة", None), ("تعليق صوتي", None), ("صوت", None),
    ("3 نماذج", None), ("٣ نماذج", None), ("10", None), ("١٠", None), ("۴ نماذج", None),
    ("4 نماذج", None), ("تص", None), ("شع", None), ("خلال يومين", None),
    ("تصميم", "design"), ("تصميم", "marketing"), ("مقالة", "writing-translation"),
    ("logo", None), ("LOGO", None), ("Logo Design", None), ("design logo", None),
    ("modern logo", None), ("translate", None), ("trans", None), ("arabic", None),
    ("wordpress website", None), ("word", None), ("seo articles", None), ("3d", None),
    ("3D models", None), ("social media", None), ("video", None), ("video edit", None),
    ("voice over", None), ("podcast", None), ("brand", "design"), ("clinic", None),
    ("5 days", None), ("٥ days", None), ("restaurant logo", None), ("will", "audio"),
    ("nothing-matches-this", None), ("zz", None), ("fast delivery", None),
    ("proofread", None), ("experience", "video"), ("مجانية", None), ("تعديلات", None),
]

queries = []
for q, cat in QUERIES:
    h = hits(q, services, cat)
    entry = {"q": q, "hits": sorted(h)}
    if cat:
        entry["category"] = cat
    entry["title_hits"] = {k: h[k] for k in sorted(h)}
    queries.append(entry)

out = Path(__file__).with_name("search_corpus.json")
out.write_text(json.dumps({"services": services, "queries": queries}, ensure_ascii=False, indent=1) + "\n")
print(f"{len(services)} services, {len(queries)} queries, "
      f"{sum(1 for q in queries if q['hits'])} with hits -> {out}")
