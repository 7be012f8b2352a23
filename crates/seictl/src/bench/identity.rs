//! Who runs a bench and where: the owner is `--owner`, else the kube context's user
//! (made a valid alias); the namespace is `-n`, else the context's namespace, else
//! `eng-<owner>`, the reference's convention. (The reference took both from an identity
//! file and AWS alone.)

use kube::config::Kubeconfig;

use super::Who;
use super::envelope::fail;

/// The context `--context` or the current one names: its user and namespace.
fn context(who: &Who) -> (Option<String>, Option<String>) {
    let config = match &who.cluster.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    let Some(config) = config else { return (None, None) };
    let name = who.cluster.context.clone().or(config.current_context.clone());
    let ctx = config.contexts.iter().find(|c| Some(&c.name) == name.as_ref()).and_then(|c| c.context.clone());
    ctx.map_or((None, None), |c| (c.user, c.namespace))
}

/// A kube user name as an alias: lowercase, other characters as '-', at most 30.
fn alias_of(user: &str) -> String {
    let user = user.rsplit(['/', ':']).next().unwrap_or(user);
    let user = user.split('@').next().unwrap_or(user);
    let s: String =
        user.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(30).collect();
    s.trim_matches('-').to_string()
}

/// `(owner, namespace)`.
pub async fn resolve(who: &Who) -> anyhow::Result<(String, String)> {
    if who.aws {
        let owner = match &who.owner {
            Some(o) => o.clone(),
            None => {
                let arn = super::aws::caller_arn().await?;
                let alias = alias_of(&arn);
                if alias.is_empty() {
                    return Err(fail(
                        "validation",
                        format!("--owner is required: the AWS caller {arn} names no alias"),
                    ));
                }
                alias
            }
        };
        let namespace = who.cluster.namespace.clone().unwrap_or_else(|| format!("eng-{owner}"));
        return Ok((owner, namespace));
    }
    let (user, ctx_namespace) = context(who);
    let owner = match (&who.owner, user) {
        (Some(o), _) => o.clone(),
        (None, Some(u)) if !alias_of(&u).is_empty() => alias_of(&u),
        (None, _) => {
            return Err(fail("validation", "--owner is required: the kube context names no user to take it from"));
        }
    };
    let namespace = who.cluster.namespace.clone().or(ctx_namespace).unwrap_or_else(|| format!("eng-{owner}"));
    Ok((owner, namespace))
}

/// The namespace alone: `-n`, else the context's, else `eng-<owner>` (which needs an owner).
pub async fn namespace(who: &Who) -> anyhow::Result<String> {
    let from_context = if who.aws { None } else { context(who).1 };
    match who.cluster.namespace.clone().or(from_context) {
        Some(ns) => Ok(ns),
        None => resolve(who).await.map(|(_, ns)| ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_users_become_aliases() {
        assert_eq!(alias_of("alice"), "alice");
        assert_eq!(alias_of("Alice.Smith@example.com"), "alice-smith");
        assert_eq!(alias_of("arn:aws:iam::1:user/Bob"), "bob");
        assert_eq!(alias_of("system:admin"), "admin");
        assert_eq!(alias_of("arn:aws:sts::123456789012:assumed-role/engineer/alice"), "alice");
    }
}
