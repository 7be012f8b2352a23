//! Platform settings: node pools, storage, resources and buckets of the cluster the
//! operator runs in. All come from environment variables and have no defaults.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Everything the operator needs to know about its cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Platform {
    pub nodepool_name: String,
    pub nodepool_archive: String,
    pub toleration_key: String,
    pub service_account: String,
    pub storage_class_perf: String,
    pub storage_class_default: String,
    pub storage_class_archive: String,
    pub storage_size_default: Quantity,
    pub storage_size_archive: Quantity,
    pub cpu_archive: Quantity,
    pub mem_archive: Quantity,
    pub cpu_default: Quantity,
    pub mem_default: Quantity,
    pub snapshot_bucket: String,
    pub snapshot_region: String,
    pub genesis_bucket: String,
    pub genesis_region: String,
    pub result_export_bucket: String,
    pub result_export_region: String,
    pub result_export_prefix: String,
    pub gateway_name: String,
    pub gateway_namespace: String,
    pub gateway_domain: String,
    pub gateway_public_domain: Option<String>,
    /// The DNS server (`ip:port`) the DNS gate asks whether a route's hostname resolves
    /// (`SEI_GATEWAY_RESOLVER`); unset: the system's resolver, as the reference.
    pub gateway_resolver: Option<std::net::SocketAddr>,
    /// The sidecar image of nodes whose spec names none (`SEI_SIDECAR_IMAGE`, **new**;
    /// default: this release's `seictl` image). The reference compiled its image in.
    pub sidecar_image: String,
}

/// A platform variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlatformError {
    #[error("{0} is required but empty or unset")]
    Missing(&'static str),
    #[error("{var}={value:?} is not a Kubernetes quantity (for example 500Gi, 16, 64Gi, 500m)")]
    BadQuantity { var: &'static str, value: String },
    #[error("{var}={value:?} is not an address with a port (for example 10.0.0.10:53)")]
    BadAddress { var: &'static str, value: String },
}

/// Whether `s` is a Kubernetes resource quantity (the API server's own pattern).
pub fn is_quantity(s: &str) -> bool {
    let (number, suffix) =
        s.split_at(s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len()));
    let digits = number.trim_start_matches(['+', '-']);
    let valid_number = !digits.is_empty()
        && digits != "."
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.len() - digits.len() <= 1;
    let valid_suffix = match suffix {
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "n" | "u" | "m" | "k" | "M" | "G" | "T" | "P" | "E" => true,
        s if s.starts_with(['e', 'E']) => {
            let exp = s[1..].trim_start_matches(['+', '-']);
            !exp.is_empty() && exp.chars().all(|c| c.is_ascii_digit()) && s.len() - exp.len() <= 2
        }
        _ => false,
    };
    valid_number && valid_suffix
}

impl Platform {
    /// Reads every variable through `get`, reporting the first missing or malformed one
    /// by name (in the order of the table in docs/operator.md).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Platform, PlatformError> {
        let req = |var: &'static str| get(var).filter(|v| !v.trim().is_empty()).ok_or(PlatformError::Missing(var));
        let qty = |var: &'static str| {
            let v = req(var)?;
            if is_quantity(&v) { Ok(Quantity(v)) } else { Err(PlatformError::BadQuantity { var, value: v }) }
        };
        Ok(Platform {
            nodepool_name: req("SEI_NODEPOOL_NAME")?,
            nodepool_archive: req("SEI_NODEPOOL_ARCHIVE")?,
            toleration_key: req("SEI_TOLERATION_KEY")?,
            service_account: req("SEI_SERVICE_ACCOUNT")?,
            storage_class_perf: req("SEI_STORAGE_CLASS_PERF")?,
            storage_class_default: req("SEI_STORAGE_CLASS_DEFAULT")?,
            storage_class_archive: req("SEI_STORAGE_CLASS_ARCHIVE")?,
            storage_size_default: qty("SEI_STORAGE_SIZE_DEFAULT")?,
            storage_size_archive: qty("SEI_STORAGE_SIZE_ARCHIVE")?,
            cpu_archive: qty("SEI_RESOURCE_CPU_ARCHIVE")?,
            mem_archive: qty("SEI_RESOURCE_MEM_ARCHIVE")?,
            cpu_default: qty("SEI_RESOURCE_CPU_DEFAULT")?,
            mem_default: qty("SEI_RESOURCE_MEM_DEFAULT")?,
            snapshot_bucket: req("SEI_SNAPSHOT_BUCKET")?,
            snapshot_region: req("SEI_SNAPSHOT_REGION")?,
            genesis_bucket: req("SEI_GENESIS_BUCKET")?,
            genesis_region: req("SEI_GENESIS_REGION")?,
            result_export_bucket: req("SEI_RESULT_EXPORT_BUCKET")?,
            result_export_region: req("SEI_RESULT_EXPORT_REGION")?,
            result_export_prefix: req("SEI_RESULT_EXPORT_PREFIX")?,
            gateway_name: req("SEI_GATEWAY_NAME")?,
            gateway_namespace: req("SEI_GATEWAY_NAMESPACE")?,
            gateway_domain: req("SEI_GATEWAY_DOMAIN")?,
            gateway_public_domain: get("SEI_GATEWAY_PUBLIC_DOMAIN").filter(|v| !v.trim().is_empty()),
            gateway_resolver: match get("SEI_GATEWAY_RESOLVER").filter(|v| !v.trim().is_empty()) {
                None => None,
                Some(v) => Some(
                    v.trim()
                        .parse()
                        .map_err(|_| PlatformError::BadAddress { var: "SEI_GATEWAY_RESOLVER", value: v })?,
                ),
            },
            sidecar_image: get("SEI_SIDECAR_IMAGE")
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| crate::names::DEFAULT_SIDECAR_IMAGE.into()),
        })
    }

    /// Node pool for a node of this mode.
    pub fn nodepool(&self, archive: bool) -> &str {
        if archive { &self.nodepool_archive } else { &self.nodepool_name }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The test platform of `tests/fixtures/platform.env`, shared with the integration tests.
    pub fn env() -> Vec<(&'static str, &'static str)> {
        include_str!("../tests/fixtures/platform.env")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split_once('='))
            .collect()
    }

    pub fn platform() -> Platform {
        let env = env();
        Platform::from_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
    }

    #[test]
    fn every_variable_is_required_and_named() {
        let full = env();
        for (missing, _) in &full {
            let err = Platform::from_env(|k| {
                if k == *missing { None } else { full.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()) }
            })
            .unwrap_err();
            assert_eq!(err, PlatformError::Missing(missing));
        }
        assert_eq!(platform().gateway_public_domain, None);
        assert_eq!(platform().gateway_resolver, None);
        let with = |v: &str| {
            let mut env = full.clone();
            env.push(("SEI_GATEWAY_RESOLVER", v));
            Platform::from_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))
        };
        assert_eq!(with("127.0.0.1:5353").unwrap().gateway_resolver, Some("127.0.0.1:5353".parse().unwrap()));
        assert!(with("dns.local").unwrap_err().to_string().contains("SEI_GATEWAY_RESOLVER"));
    }

    #[test]
    fn the_sidecar_image_defaults_to_ours_and_can_be_set() {
        assert_eq!(platform().sidecar_image, format!("ghcr.io/sei-k8s/seictl:{}", env!("CARGO_PKG_VERSION")));
        let mut env = env();
        env.push(("SEI_SIDECAR_IMAGE", crate::names::REFERENCE_SIDECAR_IMAGE));
        let p = Platform::from_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        assert_eq!(p.sidecar_image, crate::names::REFERENCE_SIDECAR_IMAGE);
    }

    #[test]
    fn quantities_are_checked_at_start() {
        let mut env = env();
        env.retain(|(k, _)| *k != "SEI_STORAGE_SIZE_DEFAULT");
        env.push(("SEI_STORAGE_SIZE_DEFAULT", "2 TB"));
        let err = Platform::from_env(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SEI_STORAGE_SIZE_DEFAULT=\"2 TB\" is not a Kubernetes quantity (for example 500Gi, 16, 64Gi, 500m)"
        );
        for good in ["16", "500m", "64Gi", "1.5", "2e3", "20Ti", "+1k"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in ["", "Gi", "1.2.3", "10GB", "1e", "--1", "."] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
