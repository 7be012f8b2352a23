//! EC2 `DescribeInstances` for `discover-peers` sources of type `ec2Tags`: the addresses
//! of the running instances carrying every given tag. Credentials come from the same chain
//! as S3 (environment keys, web identity, EKS Pod Identity, instance metadata) and requests
//! are signed with object_store's SigV4 signer; the endpoint is `AWS_ENDPOINT_URL_EC2`, else
//! the region's public one (not `AWS_ENDPOINT_URL`, which here names an S3-compatible store).

use std::collections::BTreeMap;

use object_store::aws::{AmazonS3Builder, AwsAuthorizer};
use object_store::client::{HttpRequest, HttpRequestBody};
use quick_xml::Reader;
use quick_xml::events::Event;

const API_VERSION: &str = "2016-11-15";
/// Pages followed at most (1000 instances each): a runaway `nextToken` cannot loop forever.
const MAX_PAGES: usize = 50;

fn endpoint(region: &str) -> String {
    std::env::var("AWS_ENDPOINT_URL_EC2")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"))
        .trim_end_matches('/')
        .to_string()
}

/// A region name goes into the endpoint's host name: only `[a-z0-9-]` can, so a crafted
/// one cannot send signed requests elsewhere.
pub fn check_region(region: &str) -> Result<(), String> {
    if !region.is_empty() && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        Ok(())
    } else {
        Err(format!("region {region:?} is not a region name (lowercase letters, digits and '-')"))
    }
}

/// The query of one page: running instances with every tag.
fn query(tags: &BTreeMap<String, String>, next: Option<&str>) -> Vec<(String, String)> {
    let mut q = vec![
        ("Action".to_string(), "DescribeInstances".to_string()),
        ("Version".into(), API_VERSION.into()),
        ("MaxResults".into(), "1000".into()),
        ("Filter.1.Name".into(), "instance-state-name".into()),
        ("Filter.1.Value.1".into(), "running".into()),
    ];
    for (i, (k, v)) in tags.iter().enumerate() {
        q.push((format!("Filter.{}.Name", i + 2), format!("tag:{k}")));
        q.push((format!("Filter.{}.Value.1", i + 2), v.clone()));
    }
    if let Some(token) = next {
        q.push(("NextToken".into(), token.into()));
    }
    q
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// One page of a `DescribeInstancesResponse`: per instance its public IP if it has one,
/// else its private IP (instances with neither are skipped), and the next page's token.
pub fn parse_page(xml: &str) -> Result<(Vec<String>, Option<String>), String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut addresses = Vec::new();
    let mut next = None;
    let (mut public, mut private): (Option<String>, Option<String>) = (None, None);
    let mut error: (Option<String>, Option<String>) = (None, None);
    // An element's text arrives in pieces (entities such as `&amp;` separately).
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(|e| format!("EC2 answer is not XML: {e}"))?;
        if !matches!(event, Event::Text(_) | Event::GeneralRef(_)) && !text.is_empty() {
            let value = std::mem::take(&mut text);
            let n = path.len();
            let under_instance = n >= 3 && path[n - 3] == "instancesSet" && path[n - 2] == "item";
            match path.last().map(String::as_str) {
                Some("ipAddress") if under_instance => public = Some(value),
                Some("privateIpAddress") if under_instance => private = Some(value),
                Some("nextToken") if n == 2 => next = Some(value).filter(|t| !t.is_empty()),
                Some("Code") if path.iter().any(|p| p == "Errors") => error.0 = Some(value),
                Some("Message") if path.iter().any(|p| p == "Errors") => error.1 = Some(value),
                _ => {}
            }
        }
        match event {
            Event::Start(e) => path.push(String::from_utf8_lossy(e.local_name().as_ref()).into_owned()),
            Event::End(_) => {
                // An instance is `reservationSet/item/instancesSet/item`; its own addresses are
                // direct children (network interfaces repeat them deeper down).
                if path.len() >= 2 && path[path.len() - 2] == "instancesSet" && path[path.len() - 1] == "item" {
                    if let Some(ip) = public.take().or(private.take()) {
                        addresses.push(ip);
                    }
                    (public, private) = (None, None);
                }
                path.pop();
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| format!("EC2 answer: {e}"))?),
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| format!("EC2 answer: {e}"))?;
                let resolved = match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                };
                text.push_str(resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let (Some(code), message) = error {
        return Err(format!("EC2 {code}: {}", message.unwrap_or_default()));
    }
    Ok((addresses, next))
}

/// Addresses of the running instances in `region` that carry every tag in `tags`.
pub async fn running_instances(
    http: &reqwest::Client,
    region: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    // The S3 builder resolves credentials the way every AWS SDK does; the bucket is unused.
    let store = AmazonS3Builder::from_env()
        .with_region(region)
        .with_bucket_name("unused-by-ec2-discovery")
        .build()
        .map_err(|e| format!("AWS credentials: {e}"))?;
    let credential = store.credentials().get_credential().await.map_err(|e| format!("AWS credentials: {e}"))?;
    let base = endpoint(region);
    let mut addresses = Vec::new();
    let mut next: Option<String> = None;
    for _ in 0..MAX_PAGES {
        // Encoded as SigV4 canonicalises (%20, not +), so the signed and the sent query agree.
        let query: Vec<String> =
            query(tags, next.as_deref()).iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        let url = reqwest::Url::parse(&format!("{base}/?{}", query.join("&")))
            .map_err(|e| format!("EC2 endpoint {base}: {e}"))?;
        let mut request: HttpRequest =
            http::Request::get(url.as_str()).body(HttpRequestBody::empty()).map_err(|e| format!("EC2 request: {e}"))?;
        AwsAuthorizer::new(&credential, "ec2", region).authorize(&mut request, None);
        let response = http
            .get(url)
            .headers(request.headers().clone())
            .timeout(std::time::Duration::from_secs(20))
            .send()
            .await
            .map_err(|e| format!("EC2 {base}: {e}"))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("EC2 {base}: {e}"))?;
        if !status.is_success() {
            // EC2 explains itself in XML; anything else (a proxy's page) is shown as it came.
            return Err(match parse_page(&body) {
                Err(e) if e.starts_with("EC2 ") && !e.contains("not XML") => format!("{e} (HTTP {status})"),
                _ => format!("EC2 {base}: HTTP {status}: {}", body.chars().take(300).collect::<String>()),
            });
        }
        let (page, token) = parse_page(&body)?;
        addresses.extend(page);
        match token {
            Some(t) => next = Some(t),
            None => return Ok(addresses),
        }
    }
    Err(format!("EC2 DescribeInstances: more than {MAX_PAGES} pages"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_s_public_address_wins_and_interfaces_are_not_counted_twice() {
        let xml = r#"<?xml version="1.0"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
 <reservationSet><item><instancesSet>
  <item><instanceId>i-1</instanceId><privateIpAddress>10.0.0.1</privateIpAddress><ipAddress>54.0.0.1</ipAddress>
   <networkInterfaceSet><item><privateIpAddress>10.0.0.1</privateIpAddress>
    <association><publicIp>54.0.0.1</publicIp></association></item></networkInterfaceSet></item>
  <item><instanceId>i-2</instanceId><privateIpAddress>10.0.0.2</privateIpAddress></item>
  <item><instanceId>i-3</instanceId></item>
 </instancesSet></item></reservationSet>
 <nextToken>page-2</nextToken>
</DescribeInstancesResponse>"#;
        let (ips, next) = parse_page(xml).unwrap();
        assert_eq!(ips, ["54.0.0.1", "10.0.0.2"]);
        assert_eq!(next.as_deref(), Some("page-2"));
    }

    #[test]
    fn text_with_entities_is_read_whole() {
        let xml = "<DescribeInstancesResponse><reservationSet/><nextToken>a&amp;b&lt;c</nextToken></DescribeInstancesResponse>";
        assert_eq!(parse_page(xml).unwrap().1.as_deref(), Some("a&b<c"));
    }

    #[test]
    fn query_values_are_encoded_as_sigv4_canonicalises_them() {
        assert_eq!(encode("tag:Chain Name"), "tag%3AChain%20Name");
        assert_eq!(encode("a+b/c~d"), "a%2Bb%2Fc~d");
    }

    #[test]
    fn only_region_names_pass() {
        assert!(check_region("eu-central-1").is_ok());
        for bad in ["", "x@evil.example/", "EU-CENTRAL-1", "a.b"] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_ec2_error_is_reported_with_its_code() {
        let xml = r#"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized</Message></Error></Errors></Response>"#;
        assert_eq!(parse_page(xml).unwrap_err(), "EC2 UnauthorizedOperation: You are not authorized");
    }

    #[test]
    fn every_tag_is_a_filter_besides_the_running_state() {
        let tags =
            BTreeMap::from([("ChainIdentifier".to_string(), "pacific-1".to_string()), ("Role".into(), "rpc".into())]);
        let q = query(&tags, Some("t"));
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Filter.1.Value.1"), Some("running"));
        assert_eq!((get("Filter.2.Name"), get("Filter.2.Value.1")), (Some("tag:ChainIdentifier"), Some("pacific-1")));
        assert_eq!((get("Filter.3.Name"), get("Filter.3.Value.1")), (Some("tag:Role"), Some("rpc")));
        assert_eq!(get("NextToken"), Some("t"));
    }
}
