//! `/orders/{id}/files`: an upload URL for a new file, and a download as
//! a redirect to a short-lived presigned URL.

use crate::views::Time;
use crate::{Ctx, Reply, json_text};
use khamsa_app::AppResult;
use khamsa_app::usecases::files::{self, Started};
use khamsa_domain::ids::FileId;
use serde::Serialize;

#[derive(Serialize)]
pub struct UploadView<'a> {
    file_id: &'a FileId,
    name: &'a str,
    content_type: &'a str,
    size: u64,
    upload_url: &'a str,
    /// Headers the PUT must send as they are: they are signed.
    upload_headers: std::collections::BTreeMap<&'a str, &'a str>,
    expires_at: Time,
}

pub fn upload_view(s: &Started) -> UploadView<'_> {
    UploadView {
        file_id: &s.file.id,
        name: &s.file.name,
        content_type: &s.file.content_type,
        size: s.file.size,
        upload_url: &s.upload_url,
        upload_headers: s
            .upload_headers
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect(),
        expires_at: Time(s.expires_at),
    }
}

pub(crate) async fn upload(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let (app, c, id, input) = (ctx.app, ctx.caller()?, ctx.id.as_str(), ctx.input());
    ctx.mutate(
        201,
        || Box::pin(files::start_upload(app, c, id, input.clone())),
        |s| json_text(&upload_view(s)),
    )
    .await
}

/// `302` to the presigned GET; the URL is the redirect's `Location`.
pub(crate) async fn download(ctx: &Ctx<'_>) -> AppResult<Reply> {
    let url = files::download_url(ctx.app, ctx.caller()?, &ctx.id, &ctx.file_id).await?;
    Ok(Reply {
        status: 302,
        body: url,
    })
}
