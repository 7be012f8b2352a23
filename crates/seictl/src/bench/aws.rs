//! The AWS path of `bench` (`--aws`), as the reference always did it: the owner is the AWS
//! caller (STS `GetCallerIdentity`: the role session or user name), and an ECR image given
//! by tag is pinned to its digest (ECR `DescribeImages`). Credentials come from the
//! standard chain (environment keys, web identity, EKS Pod Identity, instance metadata);
//! requests are signed with object_store's SigV4 signer. Endpoints: `AWS_ENDPOINT_URL_STS`
//! and `AWS_ENDPOINT_URL_ECR`, else the region's public ones (`AWS_REGION`, else
//! `AWS_DEFAULT_REGION`, else us-east-1).

use object_store::aws::{AmazonS3Builder, AwsAuthorizer, AwsCredential};
use object_store::client::{HttpRequest, HttpRequestBody};
use serde_json::{Value, json};

use super::envelope::fail;

fn region() -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "us-east-1".into())
}

fn endpoint(service: &str, public: String) -> String {
    std::env::var(format!("AWS_ENDPOINT_URL_{}", service.to_ascii_uppercase()))
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or(public)
        .trim_end_matches('/')
        .to_string()
}

const HINT: &str = "set AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a web identity), or drop --aws and pass --owner";

async fn credential() -> anyhow::Result<std::sync::Arc<AwsCredential>> {
    // The S3 builder resolves credentials as every AWS SDK does; the bucket is unused.
    let store = AmazonS3Builder::from_env()
        .with_region(region())
        .with_bucket_name("unused-by-seictl")
        .build()
        .map_err(|e| fail("aws-unavailable", format!("AWS credentials: {e}; {HINT}")))?;
    store
        .credentials()
        .get_credential()
        .await
        .map_err(|e| fail("aws-unavailable", format!("AWS credentials: {e}; {HINT}")))
}

/// The caller's ARN, as `GetCallerIdentity` returns it.
pub async fn caller_arn() -> anyhow::Result<String> {
    let credential = credential().await?;
    let region = region();
    let base = endpoint("sts", format!("https://sts.{region}.amazonaws.com"));
    let url = format!("{base}/?Action=GetCallerIdentity&Version=2011-06-15");
    let mut request: HttpRequest = http::Request::get(url.as_str())
        .body(HttpRequestBody::empty())
        .map_err(|e| fail("aws-unavailable", format!("STS request: {e}")))?;
    AwsAuthorizer::new(&credential, "sts", &region).authorize(&mut request, None);
    let response = reqwest::Client::new()
        .get(&url)
        .headers(request.headers().clone())
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| fail("aws-unavailable", format!("STS {base}: {e}; {HINT}")))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let arn = body.split_once("<Arn>").and_then(|(_, rest)| rest.split_once("</Arn>")).map(|(arn, _)| arn.trim());
    match arn {
        Some(arn) if status.is_success() => Ok(arn.to_string()),
        _ => Err(fail(
            "aws-unavailable",
            format!("STS GetCallerIdentity: HTTP {status}: {}; {HINT}", body.chars().take(200).collect::<String>()),
        )),
    }
}

/// An ECR image reference: `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`.
#[derive(Debug, PartialEq, Eq)]
pub struct EcrImage {
    pub host: String,
    pub account: String,
    pub region: String,
    pub repository: String,
    pub tag: String,
}

pub fn ecr_image(image: &str) -> Option<EcrImage> {
    if image.contains('@') {
        return None;
    }
    let (host, path) = image.split_once('/')?;
    let mut parts = host.split('.');
    let (account, dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if dkr != "dkr" || ecr != "ecr" || !host.ends_with(".amazonaws.com") || !account.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let (repository, tag) = path.rsplit_once(':')?;
    Some(EcrImage {
        host: host.into(),
        account: account.into(),
        region: region.into(),
        repository: repository.into(),
        tag: tag.into(),
    })
}

/// The digest (`sha256:...`) of an ECR image's tag.
pub async fn ecr_digest(image: &EcrImage) -> anyhow::Result<String> {
    let credential = credential().await?;
    let base = endpoint("ecr", format!("https://api.ecr.{}.amazonaws.com", image.region));
    let body =
        json!({"registryId": image.account, "repositoryName": image.repository, "imageIds": [{"imageTag": image.tag}]})
            .to_string();
    let mut request: HttpRequest = http::Request::post(format!("{base}/"))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "AmazonEC2ContainerRegistry_V20150921.DescribeImages")
        .body(HttpRequestBody::from(body.clone().into_bytes()))
        .map_err(|e| fail("image-resolution", format!("ECR request: {e}")))?;
    AwsAuthorizer::new(&credential, "ecr", &image.region).authorize(&mut request, None);
    let what = format!("{}/{}:{}", image.host, image.repository, image.tag);
    let response = reqwest::Client::new()
        .post(format!("{base}/"))
        .headers(request.headers().clone())
        .body(body)
        .timeout(std::time::Duration::from_secs(20))
        .send()
        .await
        .map_err(|e| fail("image-resolution", format!("--image {what}: ECR {base}: {e}")))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or_default();
    let digest = answer.pointer("/imageDetails/0/imageDigest").and_then(Value::as_str);
    match digest {
        Some(d) if status.is_success() && d.starts_with("sha256:") => Ok(d.to_string()),
        _ => {
            let why = answer["message"].as_str().or(answer["__type"].as_str()).unwrap_or("no digest in the answer");
            Err(fail("image-resolution", format!("--image {what}: ECR DescribeImages: HTTP {status}: {why}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_references_are_recognised() {
        let i = ecr_image("189176372795.dkr.ecr.us-east-2.amazonaws.com/sei/seid:v6.3.0").unwrap();
        assert_eq!(
            (i.account.as_str(), i.region.as_str(), i.repository.as_str(), i.tag.as_str()),
            ("189176372795", "us-east-2", "sei/seid", "v6.3.0")
        );
        assert!(ecr_image("ghcr.io/sei-protocol/sei:v6.3.0").is_none());
        assert!(ecr_image("189176372795.dkr.ecr.us-east-2.amazonaws.com/sei/seid@sha256:ab").is_none());
        assert!(ecr_image("189176372795.dkr.ecr.us-east-2.amazonaws.com/sei/seid").is_none());
    }
}
