//! Files on an order: a logo, a voice-over, a document (product.md
//! "Files"). The bytes live in object storage; the record says whose they
//! are, on which order, and what they were attached to.

use crate::config::Config;
use crate::error::{DomainError, DomainResult};
use crate::ids::{FileId, MessageId, OrderId, UserId};
use crate::text::Text;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The longest original file name kept, in characters.
pub const NAME_MAX: usize = 200;

/// What a file was attached to. Once attached it never moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "id")]
pub enum Attachment {
    Message(MessageId),
    /// The seller's delivery, at this delivery time.
    Delivery(Timestamp),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub id: FileId,
    pub order_id: OrderId,
    /// Who uploaded it: only they may attach it.
    pub owner_id: UserId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    pub created_at: Timestamp,
    pub attached: Option<Attachment>,
    /// When its bytes were deleted with the order's other files,
    /// `files_keep_days` after the order ended: its download is 410.
    #[serde(default)]
    pub expired_at: Option<Timestamp>,
    pub version: u64,
}

impl FileRecord {
    /// The object's key in the bucket. Every key of an order shares its
    /// prefix, so the order's files can be found (and expired) together.
    pub fn key(&self) -> String {
        format!("orders/{}/{}", self.order_id, self.id)
    }
}

/// An upload as declared: `{name, content_type, size}`, within the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub name: String,
    pub content_type: String,
    pub size: u64,
}

impl NewFile {
    pub fn parse(name: &str, content_type: &str, size: i64, cfg: &Config) -> DomainResult<NewFile> {
        let name = Text::parse_line("name", name, NAME_MAX)?.into_string();
        // A name is shown and offered back as a download name: no path.
        if name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(DomainError::invalid(
                "name",
                "must be a file name, not a path",
            ));
        }
        let content_type = content_type.trim().to_ascii_lowercase();
        if !cfg.file_types.contains(&content_type) {
            return Err(DomainError::invalid(
                "content_type",
                "this type of file is not accepted (images, PDF, office documents, audio, video, zip)",
            ));
        }
        let size = u64::try_from(size)
            .ok()
            .filter(|s| (1..=cfg.file_max_bytes).contains(s))
            .ok_or_else(|| {
                DomainError::invalid(
                    "size",
                    format!("must be from 1 to {} bytes", cfg.file_max_bytes),
                )
            })?;
        Ok(NewFile {
            name,
            content_type,
            size,
        })
    }
}

/// The file ids a message or delivery carries: distinct, at most
/// `cfg.files_per_item`, each one that could be ours.
pub fn parse_file_ids(raw: &[String], cfg: &Config) -> DomainResult<Vec<FileId>> {
    if raw.len() > cfg.files_per_item {
        return Err(DomainError::invalid(
            "file_ids",
            format!("at most {} files", cfg.files_per_item),
        ));
    }
    let mut out: Vec<FileId> = Vec::with_capacity(raw.len());
    for r in raw {
        let id = FileId::plausible(r.as_str())
            .ok_or_else(|| DomainError::invalid("file_ids", "not a file of this order"))?;
        if out.contains(&id) {
            return Err(DomainError::invalid("file_ids", "a file is listed twice"));
        }
        out.push(id);
    }
    Ok(out)
}

/// Checks that `file` may be attached by `by` on `order`: theirs, on this
/// order, not attached yet. Anything else reads alike, so nobody learns
/// of another's file.
pub fn check_attachable(
    file: Option<&FileRecord>,
    order: &OrderId,
    by: &UserId,
) -> DomainResult<()> {
    match file {
        Some(f)
            if f.order_id == *order
                && f.owner_id == *by
                && f.attached.is_none()
                && f.expired_at.is_none() =>
        {
            Ok(())
        }
        Some(_) | None => Err(DomainError::invalid(
            "file_ids",
            "each file must be one you uploaded to this order and not attached yet",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_on_type_size_and_name() {
        let cfg = Config::default();
        assert!(NewFile::parse("logo.png", "image/PNG", 10, &cfg).is_ok());
        assert!(NewFile::parse("a.exe", "application/x-msdownload", 10, &cfg).is_err());
        assert!(NewFile::parse("big.zip", "application/zip", 25 * 1024 * 1024 + 1, &cfg).is_err());
        assert!(NewFile::parse("empty.zip", "application/zip", 0, &cfg).is_err());
        assert!(NewFile::parse("../x.png", "image/png", 5, &cfg).is_err());
        let many: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
        assert!(parse_file_ids(&many, &cfg).is_err());
        assert!(parse_file_ids(&["a".into(), "a".into()], &cfg).is_err());
        assert_eq!(parse_file_ids(&["a".into()], &cfg).map(|v| v.len()), Ok(1));
    }
}
