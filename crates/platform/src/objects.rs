//! Object storage named by a URL: `file://<dir>` (a local directory, the default everywhere
//! outside production) or `s3://<bucket>` (credentials and region from the standard `AWS_*`
//! variables), through object_store.

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("an object store URL must be file://<dir> or s3://<bucket>, not `{0}`")]
    BadUrl(String),
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("cannot create the object directory: {0}")]
    Io(#[from] std::io::Error),
}

impl ObjectsError {
    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Store(object_store::Error::NotFound { .. }))
    }
}

#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
}

impl Objects {
    pub fn from_url(url: &str) -> Result<Self, ObjectsError> {
        let store: Arc<dyn ObjectStore> = if let Some(dir) = url.strip_prefix("file://") {
            std::fs::create_dir_all(dir)?;
            Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?)
        } else if let Some(bucket) = url.strip_prefix("s3://") {
            Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(bucket.trim_end_matches('/'))
                    .build()?,
            )
        } else {
            return Err(ObjectsError::BadUrl(url.to_owned()));
        };
        Ok(Self { store })
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), ObjectsError> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectsError> {
        Ok(self
            .store
            .get(&Path::from(key))
            .await?
            .bytes()
            .await?
            .to_vec())
    }

    pub async fn delete(&self, key: &str) -> Result<(), ObjectsError> {
        self.store.delete(&Path::from(key)).await?;
        Ok(())
    }
}
