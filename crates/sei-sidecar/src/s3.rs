//! S3 access for tasks, through `object_store`. Credentials, endpoint and TLS settings
//! come from the standard AWS environment (`AWS_ACCESS_KEY_ID`, web identity, EKS Pod
//! Identity, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...); the region is always explicit.

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload, WriteMultipart};

use crate::tasks::{TaskContext, TaskError};

/// One bucket in one region, with the environment variables that name it (for hints).
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    pub name: String,
    pub region: String,
    /// e.g. `SEI_SNAPSHOT_BUCKET/SEI_SNAPSHOT_REGION`, or "the task parameters".
    source: String,
}

impl Bucket {
    pub fn open(ctx: &TaskContext, name: &str, region: &str, source: &str) -> Result<Bucket, TaskError> {
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(name)
            .with_region(region)
            .build()
            .map_err(|e| ctx.err("S3", format!("configuring access to s3://{name} in {region}: {e}")))?;
        Ok(Bucket { store: Arc::new(store), name: name.into(), region: region.into(), source: source.into() })
    }

    /// The platform genesis bucket.
    pub fn genesis(ctx: &TaskContext) -> Result<Bucket, TaskError> {
        let s = &ctx.settings;
        Bucket::open(ctx, &s.genesis_bucket, &s.genesis_region, "SEI_GENESIS_BUCKET/SEI_GENESIS_REGION")
    }

    /// The platform snapshot bucket.
    pub fn snapshots(ctx: &TaskContext) -> Result<Bucket, TaskError> {
        let s = &ctx.settings;
        Bucket::open(ctx, &s.snapshot_bucket, &s.snapshot_region, "SEI_SNAPSHOT_BUCKET/SEI_SNAPSHOT_REGION")
    }

    /// A task error classified as §5.2 of the sidecar spec describes, with a hint that
    /// names where this bucket was configured.
    /// The object path of `key`, refusing keys object_store would silently rewrite
    /// (empty segments, `.`/`..`, percent signs).
    fn path(&self, ctx: &TaskContext, key: &str) -> Result<ObjectPath, TaskError> {
        ObjectPath::parse(key).map_err(|e| ctx.err("S3", format!("invalid object key {key:?}: {e}")))
    }

    pub fn error(&self, ctx: &TaskContext, key: &str, e: object_store::Error) -> TaskError {
        let url = format!("s3://{}/{key}", self.name);
        let text = e.to_string();
        let mut err = match &e {
            object_store::Error::NotFound { .. } => ctx
                .err("S3", format!("object {key:?} not found in s3://{}", self.name))
                .hint("the snapshot or genesis may not have been uploaded yet"),
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                ctx.err("S3", format!("access denied to {url} in {}", self.region)).hint(
                    "the pod's ServiceAccount role needs s3:GetObject, s3:PutObject and s3:ListBucket on this bucket",
                )
            }
            _ if text.contains("NoSuchBucket") => ctx
                .err("S3", format!("bucket {} does not exist in {}", self.name, self.region))
                .hint(format!("check {}", self.source)),
            _ if text.contains("SlowDown") || text.contains("ServiceUnavailable") || text.contains("503") => {
                let mut e =
                    ctx.err("S3", format!("S3 throttled the request for {url}")).hint("transient; will be retried");
                e.retryable = true;
                e
            }
            _ if text.contains("error sending request") || text.contains("connect") || text.contains("dns") => {
                let mut e = ctx
                    .err("S3", format!("network error accessing {url}: {text}"))
                    .hint("check the S3 endpoint, VPC endpoints and DNS");
                e.retryable = true;
                e
            }
            _ => ctx.err("S3", format!("unexpected error accessing {url}: {text}")),
        };
        err.retryable |= false;
        err
    }

    pub async fn get(&self, ctx: &TaskContext, key: &str) -> Result<Bytes, TaskError> {
        let path = self.path(ctx, key)?;
        let result = self.store.get(&path).await.map_err(|e| self.error(ctx, key, e))?;
        result.bytes().await.map_err(|e| self.error(ctx, key, e))
    }

    /// Streams an object into a file (written in place; callers rename when needed).
    pub async fn download(&self, ctx: &TaskContext, key: &str, dest: &std::path::Path) -> Result<u64, TaskError> {
        use tokio::io::AsyncWriteExt;
        let path = self.path(ctx, key)?;
        let result = self.store.get(&path).await.map_err(|e| self.error(ctx, key, e))?;
        let mut stream = result.into_stream();
        let mut file = tokio::fs::File::create(dest).await.map_err(|e| ctx.err("download", e.to_string()))?;
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.error(ctx, key, e))?;
            total += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(|e| ctx.err("download", e.to_string()))?;
            if ctx.cancel.is_cancelled() {
                return Err(ctx.err("download", "cancelled"));
            }
        }
        file.sync_all().await.map_err(|e| ctx.err("download", e.to_string()))?;
        Ok(total)
    }

    pub async fn put(&self, ctx: &TaskContext, key: &str, body: Vec<u8>) -> Result<(), TaskError> {
        let path = self.path(ctx, key)?;
        self.store.put(&path, PutPayload::from(body)).await.map_err(|e| self.error(ctx, key, e))?;
        Ok(())
    }

    /// Uploads whatever `produce` writes, in multipart chunks, without holding it all in
    /// memory. `produce` runs on a blocking thread.
    pub async fn upload_stream<F>(&self, ctx: &TaskContext, key: &str, produce: F) -> Result<u64, TaskError>
    where
        F: FnOnce(&mut dyn std::io::Write) -> std::io::Result<()> + Send + 'static,
    {
        let path = self.path(ctx, key)?;
        let upload = self.store.put_multipart(&path).await.map_err(|e| self.error(ctx, key, e))?;
        // Dropped unfinished (an error, or the engine dropping a cancelled task), it aborts.
        let mut upload = AbortOnDrop(Some(WriteMultipart::new(upload)));
        let writer = upload.0.as_mut().expect("not finished yet");
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let producer = tokio::task::spawn_blocking(move || {
            let mut out = ChannelWriter { tx, buf: Vec::with_capacity(CHUNK) };
            produce(&mut out)?;
            out.flush_chunk()
        });
        let mut total = 0u64;
        let outcome: Result<(), TaskError> = async {
            while let Some(chunk) = rx.recv().await {
                total += chunk.len() as u64;
                writer.wait_for_capacity(4).await.map_err(|e| self.error(ctx, key, e))?;
                writer.write(&chunk);
                if ctx.cancel.is_cancelled() {
                    return Err(ctx.err("upload", "cancelled"));
                }
            }
            match producer.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(ctx.err("upload", format!("building {key}: {e}"))),
                Err(e) => return Err(ctx.err("upload", format!("building {key}: {e}"))),
            }
            // Every part stored before the upload is completed, so a failed part still aborts.
            writer.wait_for_capacity(0).await.map_err(|e| self.error(ctx, key, e))
        }
        .await;
        if let Err(e) = outcome {
            upload.abort().await;
            return Err(e);
        }
        let writer = upload.0.take().expect("not finished yet");
        if let Err(e) = writer.finish().await {
            // finish() has no parts left to wait for; only completing failed. Nothing to abort
            // with: the writer is consumed, and the bucket's lifecycle rule is the last resort.
            return Err(self.error(ctx, key, e));
        }
        Ok(total)
    }

    /// Every key under `prefix`.
    pub async fn list(&self, ctx: &TaskContext, prefix: &str) -> Result<Vec<String>, TaskError> {
        let path = self.path(ctx, prefix.trim_end_matches('/'))?;
        let mut stream = self.store.list(Some(&path));
        let mut keys = Vec::new();
        while let Some(meta) = stream.next().await {
            keys.push(meta.map_err(|e| self.error(ctx, prefix, e))?.location.to_string());
        }
        Ok(keys)
    }
}

const CHUNK: usize = 1 << 20;

/// A blocking `Write` that hands 1 MiB chunks to the async uploader.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn flush_chunk(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.blocking_send(chunk).map_err(|_| std::io::Error::other("the upload stopped"))
    }
}

impl std::io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush_chunk()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A multipart upload that is aborted unless it was finished, so that no uploaded parts
/// are left behind in the bucket (where they are stored, and billed, until a lifecycle
/// rule removes them). The reference never aborted.
struct AbortOnDrop(Option<WriteMultipart>);

impl AbortOnDrop {
    /// Aborts now, waiting for it (error and cancel paths, where the runtime still runs).
    async fn abort(&mut self) {
        if let Some(writer) = self.0.take()
            && let Err(e) = writer.abort().await
        {
            tracing::warn!(error = %e, "cannot abort an unfinished multipart upload");
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::warn!(error = %e, "cannot abort an unfinished multipart upload");
                }
            });
        }
    }
}

#[cfg(test)]
mod abort_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use object_store::{MultipartUpload, PutPayload, PutResult, UploadPart};

    use super::*;

    #[derive(Debug, Default)]
    struct Recorder {
        aborted: Arc<AtomicUsize>,
        completed: Arc<AtomicUsize>,
    }

    #[async_trait::async_trait]
    impl MultipartUpload for Recorder {
        fn put_part(&mut self, _data: PutPayload) -> UploadPart {
            Box::pin(async { Ok(()) })
        }
        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.completed.fetch_add(1, Ordering::SeqCst);
            Ok(PutResult { e_tag: None, version: None })
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            self.aborted.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn an_unfinished_upload_is_aborted_when_dropped_and_a_finished_one_is_not() {
        let (aborted, completed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let recorder = || Recorder { aborted: aborted.clone(), completed: completed.clone() };

        let mut dropped = AbortOnDrop(Some(WriteMultipart::new(Box::new(recorder()))));
        dropped.0.as_mut().unwrap().write(b"part");
        drop(dropped);
        // The abort runs on the runtime: let it.
        for _ in 0..100 {
            if aborted.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(aborted.load(Ordering::SeqCst), 1);

        let mut finished = AbortOnDrop(Some(WriteMultipart::new(Box::new(recorder()))));
        finished.0.take().unwrap().finish().await.unwrap();
        drop(finished);
        tokio::task::yield_now().await;
        assert_eq!((aborted.load(Ordering::SeqCst), completed.load(Ordering::SeqCst)), (1, 1));
    }
}
