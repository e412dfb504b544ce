//! Files (product.md "Files"): upload through a presigned URL, attach to a
//! message and a delivery, download through a redirect, on both backends.

use crate::helpers::*;
use serde_json::{Value, json};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client")
}

async fn start(app: &TestApp, u: &User, order: &str, body: Value) -> Resp {
    app.post(u, &format!("/orders/{order}/files"), body).await
}

/// Records a file and PUTs its bytes; returns the file id.
async fn upload(app: &TestApp, u: &User, order: &str, name: &str, bytes: &[u8]) -> String {
    upload_object(app, u, order, name, bytes).await.0
}

fn id_of(f: &Value) -> String {
    f["file_id"].as_str().unwrap().to_owned()
}

/// The download's `302` and then the bytes behind its `Location`.
async fn download(app: &TestApp, u: &User, order: &str, file: &str) -> (u16, Option<Vec<u8>>) {
    let r = no_redirects()
        .get(app.url(&format!("/orders/{order}/files/{file}")))
        .bearer_auth(u.token())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status != 302 {
        return (status, None);
    }
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    let got = app.client.get(&to).send().await.unwrap();
    assert!(got.status().is_success(), "GET {to}: {}", got.status());
    let disposition = got
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    (302, Some(got.bytes().await.unwrap().to_vec()))
}

#[tokio::test]
async fn upload_attach_to_a_message_and_a_delivery_then_download() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let stranger = app.user("stranger").await;
    let op = app.operator().await;

    // The buyer sends a brief with a file.
    let brief = upload(&app, &buyer, &order, "brief.png", b"brief bytes").await;
    let m = app
        .post(
            &buyer,
            &format!("/orders/{order}/messages"),
            json!({"text": "The brief", "file_ids": [brief]}),
        )
        .await;
    assert_eq!(expect_status(&m, 201)["file_ids"], json!([brief]));
    // Attached once only.
    let again = app
        .post(
            &buyer,
            &format!("/orders/{order}/messages"),
            json!({"text": "Again", "file_ids": [brief]}),
        )
        .await;
    expect_problem(&again, 422, "validation_failed");

    // The seller delivers a logo; someone else's file cannot be attached.
    let logo = upload(&app, &seller, &order, "شعار.png", b"logo bytes").await;
    let theirs = upload(&app, &buyer, &order, "x.png", b"x").await;
    let r = app
        .post(
            &seller,
            &format!("/orders/{order}/deliver"),
            json!({"text": "Your logo", "file_ids": [theirs]}),
        )
        .await;
    expect_problem(&r, 422, "validation_failed");
    let o = app
        .act(
            &seller,
            &order,
            "deliver",
            json!({"text": "Your logo", "file_ids": [logo]}),
        )
        .await;
    assert_eq!(o["delivery_files"], json!([logo]));

    for who in [&buyer, &seller, &op] {
        assert_eq!(
            download(&app, who, &order, &logo).await,
            (302, Some(b"logo bytes".to_vec()))
        );
    }
    assert_eq!(
        download(&app, &seller, &order, &brief).await.1,
        Some(b"brief bytes".to_vec())
    );
    // A stranger learns nothing, nor does the other party of a file not
    // sent yet.
    assert_eq!(download(&app, &stranger, &order, &logo).await, (404, None));
    assert_eq!(download(&app, &seller, &order, &theirs).await, (404, None));
    assert_eq!(
        download(&app, &buyer, &order, "file_missing0").await,
        (404, None)
    );
    let r = start(
        &app,
        &stranger,
        &order,
        json!({"name": "a.png", "content_type": "image/png", "size": 1}),
    )
    .await;
    expect_problem(&r, 404, "not_found");
}

#[tokio::test]
async fn too_large_wrong_type_and_too_many_are_refused() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    for body in [
        json!({"name": "big.zip", "content_type": "application/zip", "size": 25 * 1024 * 1024 + 1}),
        json!({"name": "run.exe", "content_type": "application/x-msdownload", "size": 10}),
        json!({"name": "", "content_type": "image/png", "size": 10}),
        json!({"content_type": "image/png", "size": 10}),
    ] {
        let r = start(&app, &buyer, &order, body.clone()).await;
        assert_eq!(r.0, 422, "{body}: {}", r.1);
    }
    let eleven: Vec<String> = (0..11).map(|i| format!("file_{i}")).collect();
    let r = app
        .post(
            &buyer,
            &format!("/orders/{order}/messages"),
            json!({"text": "many", "file_ids": eleven}),
        )
        .await;
    expect_problem(&r, 422, "validation_failed");
}

#[tokio::test]
async fn an_expired_upload_url_is_refused() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let f = expect_status(
        &start(
            &app,
            &buyer,
            &order,
            json!({"name": "late.png", "content_type": "image/png", "size": 4}),
        )
        .await,
        201,
    );
    let url = f["upload_url"].as_str().unwrap().to_owned();
    let in_memory = std::env::var("KHAMSA_BACKEND").as_deref() != Ok("aws");
    if in_memory {
        // The local server checks expiry against the business clock.
        app.advance_seconds(301).await;
        let put = app
            .client
            .put(&url)
            .header("content-type", "image/png")
            .header("x-amz-tagging", "khamsa-file=unattached")
            .body(b"late".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 403);
    } else {
        // moto does not enforce a presigned URL's expiry; S3 does, from
        // these two parameters, which are signed.
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
    }
    // A URL altered to allow something else is refused too (memory), and
    // the file was never attached, so nobody else can fetch it.
    if in_memory {
        let put = app
            .client
            .put(url.replace("size=4", "size=5"))
            .header("content-type", "image/png")
            .header("x-amz-tagging", "khamsa-file=unattached")
            .body(b"later".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 403);
    }
}

#[tokio::test]
async fn a_file_never_uploaded_cannot_be_attached_until_it_is() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let f = expect_status(
        &start(
            &app,
            &buyer,
            &order,
            json!({"name": "a.png", "content_type": "image/png", "size": 3}),
        )
        .await,
        201,
    );
    assert_eq!(
        f["upload_headers"],
        json!({"content-type": "image/png", "x-amz-tagging": "khamsa-file=unattached"})
    );
    let file = id_of(&f);
    let path = format!("/orders/{order}/messages");
    let r = app
        .post(&buyer, &path, json!({"text": "early", "file_ids": [file]}))
        .await;
    expect_problem(&r, 409, "file_not_uploaded");
    // Nothing was sent.
    let list = app.get(&buyer, &path).await;
    assert!(!list.1.to_string().contains("early"), "{}", list.1);
    // Once the bytes are there, the same file attaches.
    assert!(app.put_upload(&f, b"abc").await.status().is_success());
    let m = app
        .post(&buyer, &path, json!({"text": "now", "file_ids": [file]}))
        .await;
    assert_eq!(expect_status(&m, 201)["file_ids"], json!([file]));
}

/// `GET {object}?tagging`, presigned with the emulators' credentials
/// (moto checks them); the local server's own store answers it unsigned.
fn tagging_url(object: &str) -> String {
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    let url = format!("{object}?tagging");
    if std::env::var("KHAMSA_BACKEND").as_deref() != Ok("aws") {
        return url;
    }
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| "test".to_owned());
    let identity = aws_credential_types::Credentials::new(
        var("AWS_ACCESS_KEY_ID"),
        var("AWS_SECRET_ACCESS_KEY"),
        None,
        None,
        "emulators",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(std::time::Duration::from_secs(60));
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&region)
        .name("s3")
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let req = SignableRequest::new(
        "GET",
        &url,
        std::iter::empty(),
        SignableBody::UnsignedPayload,
    )
    .unwrap();
    let (signed, _) = sign(req, &params).unwrap().into_parts();
    let mut out = url;
    for (k, v) in signed.params() {
        out.push_str(&format!("&{k}={}", khamsa_aws::s3::pct(v)));
    }
    out
}

/// A file's lifecycle tag (`khamsa-file`), read as S3's `GetObjectTagging`
/// answers it.
async fn tag_of(app: &TestApp, upload_url: &str) -> String {
    let object = upload_url.split('?').next().unwrap();
    let r = app.client.get(tagging_url(object)).send().await.unwrap();
    let status = r.status().as_u16();
    let xml = r.text().await.unwrap();
    assert_eq!(status, 200, "{object}?tagging: {xml}");
    let value = xml
        .split("<Value>")
        .nth(1)
        .and_then(|v| v.split("</Value>").next());
    value.unwrap_or_else(|| panic!("no tag: {xml}")).to_owned()
}

#[tokio::test]
async fn an_upload_expires_by_its_tag_until_it_is_attached() {
    let app = spawn_app().await;
    let (_seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let f = expect_status(
        &start(
            &app,
            &buyer,
            &order,
            json!({"name": "brief.pdf", "content_type": "application/pdf", "size": 5}),
        )
        .await,
        201,
    );
    let url = f["upload_url"].as_str().unwrap().to_owned();
    // The tag is signed into the URL: a PUT without it is refused (S3
    // checks the signature; moto does not, so there the URL is read).
    if std::env::var("KHAMSA_BACKEND").as_deref() == Ok("aws") {
        assert!(
            url.contains(
                "X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost%3Bx-amz-tagging"
            ),
            "{url}"
        );
    } else {
        let put = app
            .client
            .put(&url)
            .header("content-type", "application/pdf")
            .body(b"%PDF-".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 403);
    }
    let put = app.put_upload(&f, b"%PDF-").await;
    assert!(put.status().is_success(), "PUT {}", put.status());
    // Uploaded and not attached: the bucket's lifecycle would delete it
    // after a day.
    assert_eq!(tag_of(&app, &url).await, "unattached");
    let m = app
        .post(
            &buyer,
            &format!("/orders/{order}/messages"),
            json!({"text": "the brief", "file_ids": [id_of(&f)]}),
        )
        .await;
    expect_status(&m, 201);
    // Attached: kept with the order.
    assert_eq!(tag_of(&app, &url).await, "attached");
}

/// Records a file and PUTs its bytes; returns the file id and its
/// object's URL (the upload URL without its query).
async fn upload_object(
    app: &TestApp,
    u: &User,
    order: &str,
    name: &str,
    bytes: &[u8],
) -> (String, String) {
    let r = start(
        app,
        u,
        order,
        json!({"name": name, "content_type": "image/png", "size": bytes.len()}),
    )
    .await;
    let f = expect_status(&r, 201);
    assert!(f["expires_at"].is_string(), "{f}");
    let put = app.put_upload(&f, bytes).await;
    assert!(put.status().is_success(), "PUT {}", put.status());
    let url = f["upload_url"].as_str().unwrap();
    (id_of(&f), url.split('?').next().unwrap().to_owned())
}

/// Whether the object is still in the bucket: a (presigned, on moto) GET
/// of its tagging answers 200, or 404 `NoSuchKey` once it is deleted.
async fn object_exists(app: &TestApp, object: &str) -> bool {
    let r = app.client.get(tagging_url(object)).send().await.unwrap();
    match r.status().as_u16() {
        200 => true,
        404 => false,
        s => panic!("{object}?tagging: {s} {}", r.text().await.unwrap()),
    }
}

/// Checks the files of `order`, ended just now: kept until 90 days after,
/// then deleted by the timers, their downloads `410 file_expired` for the
/// parties and a 404 for a stranger, as before.
async fn files_go_90_days_after_the_end(
    app: &TestApp,
    parties: &[&User],
    stranger: &User,
    order: &str,
    files: &[(String, String, &[u8])],
) {
    app.advance_seconds(90 * DAY - 60).await;
    for (file, object, bytes) in files {
        for who in parties {
            assert_eq!(
                download(app, who, order, file).await,
                (302, Some(bytes.to_vec())),
                "{file}, a minute before the 90 days"
            );
        }
        assert!(object_exists(app, object).await);
    }
    let before = app.get_order(parties[0], order).await;
    assert_eq!(before["files_expired_at"], Value::Null);

    app.advance_seconds(120).await;
    for (file, object, _) in files {
        for who in parties {
            let r = app.get(who, &format!("/orders/{order}/files/{file}")).await;
            expect_problem(&r, 410, "file_expired");
        }
        assert_eq!(download(app, stranger, order, file).await, (404, None));
        assert!(!object_exists(app, object).await, "{object} still there");
    }
    let after = app.get_order(parties[0], order).await;
    assert!(after["files_expired_at"].is_string(), "{after}");
    // No file can be added to the order any more: no timer would delete it.
    let r = start(
        app,
        parties[0],
        order,
        json!({"name": "late.png", "content_type": "image/png", "size": 1}),
    )
    .await;
    expect_problem(&r, 410, "file_expired");
    // A file id that never was is still a 404, and the timers ran once:
    // another pass changes nothing.
    assert_eq!(
        download(app, parties[0], order, "file_missing0").await,
        (404, None)
    );
    app.advance_days(1).await;
    let again = app.get_order(parties[0], order).await;
    assert_eq!(again["files_expired_at"], after["files_expired_at"]);
}

#[tokio::test]
async fn a_completed_orders_files_are_deleted_90_days_after_it_ended() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let stranger = app.user("stranger").await;
    let op = app.operator().await;

    let (brief, brief_obj) = upload_object(&app, &buyer, &order, "brief.png", b"brief").await;
    let m = app
        .post(
            &buyer,
            &format!("/orders/{order}/messages"),
            json!({"text": "The brief", "file_ids": [brief]}),
        )
        .await;
    expect_status(&m, 201);
    let (logo, logo_obj) = upload_object(&app, &seller, &order, "logo.png", b"logo").await;
    app.act(
        &seller,
        &order,
        "deliver",
        json!({"text": "Your logo", "file_ids": [logo]}),
    )
    .await;
    app.receive(&buyer, &order).await;

    files_go_90_days_after_the_end(
        &app,
        &[&buyer, &seller, &op],
        &stranger,
        &order,
        &[(logo, logo_obj, b"logo"), (brief, brief_obj, b"brief")],
    )
    .await;
}

#[tokio::test]
async fn a_cancelled_orders_files_are_deleted_90_days_after_it_ended() {
    let app = spawn_app().await;
    let (seller, buyer, svc) = app.market(json!({}), "50.00").await;
    let order = id(&app.order(&buyer, &svc, json!({})).await);
    let stranger = app.user("stranger").await;

    let (brief, brief_obj) = upload_object(&app, &buyer, &order, "brief.png", b"brief").await;
    let m = app
        .post(
            &buyer,
            &format!("/orders/{order}/messages"),
            json!({"text": "The brief", "file_ids": [brief]}),
        )
        .await;
    expect_status(&m, 201);
    let o = app.act(&seller, &order, "cancel", json!({})).await;
    assert_eq!(o["status"], "cancelled");

    files_go_90_days_after_the_end(
        &app,
        &[&buyer, &seller],
        &stranger,
        &order,
        &[(brief, brief_obj, b"brief")],
    )
    .await;
}
