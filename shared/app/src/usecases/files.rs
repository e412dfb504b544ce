//! Files on an order (product.md "Files"): the API hands out presigned
//! URLs and keeps a record of each file; the bytes go straight to storage.

use super::input::{Body, Input, MessageText, required};
use super::visible_order;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::ids::new_id;
use crate::ports::{TAG_UNATTACHED, TAGGING_HEADER, UnitOfWork, Write};
use khamsa_domain::file::{Attachment, FileRecord, NewFile, check_attachable, parse_file_ids};
use khamsa_domain::ids::FileId;
use khamsa_domain::order::{Order, Party};
use khamsa_domain::text::Text;
use khamsa_domain::time::SECOND_MS;
use khamsa_domain::{Config, DomainError, DomainResult, Timestamp};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct UploadJson {
    name: Option<String>,
    content_type: Option<String>,
    size: Option<i64>,
}

/// `{name, content_type, size}` of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload(pub NewFile);

impl Body for Upload {
    type Json = UploadJson;
    fn check(j: UploadJson, cfg: &Config) -> DomainResult<Self> {
        let name = required("name", j.name)?;
        let content_type = required("content_type", j.content_type)?;
        let size = required("size", j.size)?;
        Ok(Upload(NewFile::parse(&name, &content_type, size, cfg)?))
    }
}

#[derive(Deserialize)]
pub struct FileIdsJson {
    file_ids: Option<Vec<String>>,
}

/// `file_ids` beside a message's or a delivery's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileIds(pub Vec<FileId>);

impl Body for FileIds {
    type Json = FileIdsJson;
    // Read beside the text's own body, which checks the other fields.
    const UNKNOWN_FIELDS_REFUSED: bool = false;
    fn check(j: FileIdsJson, cfg: &Config) -> DomainResult<Self> {
        Ok(FileIds(parse_file_ids(
            &j.file_ids.unwrap_or_default(),
            cfg,
        )?))
    }
}

/// A recorded file, where to PUT its bytes, and the headers that PUT
/// must send (signed into the URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub file: FileRecord,
    pub upload_url: String,
    pub upload_headers: Vec<(&'static str, String)>,
    pub expires_at: Timestamp,
}

fn url_expiry(app: &App, now: Timestamp) -> Timestamp {
    now.plus_ms(i64::from(app.cfg.file_url_seconds) * SECOND_MS)
}

/// `POST /orders/{id}/files`: the buyer or the seller records a file and
/// gets a short-lived URL to upload it to.
pub async fn start_upload(
    app: &App,
    caller: &Caller,
    order_id: &str,
    body: Input<Upload>,
) -> AppResult<Outcome<Started>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    if party == Party::Operator {
        return Err(DomainError::NotAllowed("the order's buyer or seller").into());
    }
    // Its files are gone and no timer would delete new ones.
    if order.files_expired_at.is_some() {
        return Err(AppError::FileExpired(app.cfg.files_keep_days));
    }
    let Upload(new) = body?;
    let now = app.now();
    let file = FileRecord {
        id: FileId::new(new_id("file", now)),
        order_id: order.id,
        owner_id: caller.id.clone(),
        name: new.name,
        content_type: new.content_type,
        size: new.size,
        created_at: now,
        attached: None,
        expired_at: None,
        version: 0,
    };
    let expires_at = url_expiry(app, now);
    let upload_url = app
        .files
        .upload_url(&file.key(), &file.content_type, file.size, now, expires_at)
        .await?;
    let uow = UnitOfWork {
        writes: vec![Write::File(file.clone())],
        ..Default::default()
    };
    let upload_headers = vec![
        ("content-type", file.content_type.clone()),
        (TAGGING_HEADER, TAG_UNATTACHED.to_owned()),
    ];
    Ok(Outcome::new(
        Started {
            file,
            upload_url,
            upload_headers,
            expires_at,
        },
        uow,
    ))
}

/// `GET /orders/{id}/files/{file_id}`: a short-lived download URL, for
/// the order's buyer, seller and operators. A file not attached yet is
/// its uploader's alone. A file deleted with its ended order's files is
/// `410 file_expired` to those who could fetch it (strangers: 404).
pub async fn download_url(
    app: &App,
    caller: &Caller,
    order_id: &str,
    file_id: &str,
) -> AppResult<String> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    let id = FileId::plausible(file_id).ok_or(AppError::NotFound("file"))?;
    let file = app
        .store
        .file(&order.id, &id)
        .await?
        .filter(|f| f.attached.is_some() || f.owner_id == caller.id || party == Party::Operator)
        .ok_or(AppError::NotFound("file"))?;
    if file.expired_at.is_some() || order.files_expired_at.is_some() {
        return Err(AppError::FileExpired(app.cfg.files_keep_days));
    }
    let now = app.now();
    Ok(app
        .files
        .download_url(&file.key(), &file.name, now, url_expiry(app, now))
        .await?)
}

/// The writes that attach `ids` to a message or delivery by `by`: each
/// must be theirs, on this order, and not attached yet (a `422`
/// otherwise), and uploaded (a `409 file_not_uploaded` otherwise). The
/// version check makes a race to attach one file twice a conflict.
///
/// Each object is tagged attached here, before the caller commits: the
/// tagging request is also the arrival check, and a retry re-tags,
/// which is harmless. A commit that then fails leaves a file tagged
/// attached but unrecorded as such; it is kept, never lost.
pub async fn attach(
    app: &App,
    order: &Order,
    by: &Caller,
    ids: &[FileId],
    to: Attachment,
) -> AppResult<Vec<Write>> {
    let mut files = Vec::with_capacity(ids.len());
    for id in ids {
        let file = app.store.file(&order.id, id).await?;
        check_attachable(file.as_ref(), &order.id, &by.id)?;
        files.extend(file);
    }
    for (i, f) in files.iter().enumerate() {
        let tagged = app.files.tag(&f.key(), true).await;
        if matches!(tagged, Ok(true)) {
            continue;
        }
        // Nothing is attached: the ones tagged already expire again.
        for done in &files[..i] {
            if let Err(e) = app.files.tag(&done.key(), false).await {
                tracing::warn!(file = %done.id, error = %e, "could not untag a file");
            }
        }
        tagged?;
        return Err(AppError::FileNotUploaded(f.id.to_string()));
    }
    Ok(files
        .into_iter()
        .map(|mut f| {
            f.attached = Some(to.clone());
            Write::File(f)
        })
        .collect())
}

#[derive(Deserialize)]
pub struct MessageJson {
    text: Option<String>,
    file_ids: Option<Vec<String>>,
}

/// `{text, file_ids?}` of a message: both fields, and no others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(pub MessageText, pub FileIds);

impl Body for MessageBody {
    type Json = MessageJson;
    fn check(j: MessageJson, cfg: &Config) -> DomainResult<Self> {
        let text = required("text", j.text)?;
        let text = MessageText(Text::parse_no_contact("text", &text, cfg.message_max)?);
        let ids = parse_file_ids(&j.file_ids.unwrap_or_default(), cfg)?;
        Ok(MessageBody(text, FileIds(ids)))
    }
}

impl MessageBody {
    /// The text and the files as the use case reads them, each in turn.
    pub fn split(body: Input<MessageBody>) -> (Input<MessageText>, Input<FileIds>) {
        match body {
            Ok(MessageBody(t, f)) => (Ok(t), Ok(f)),
            Err(e) => (Err(e), Ok(FileIds::default())),
        }
    }
}
