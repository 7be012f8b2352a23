//! Fault injection: kube-apiserver and etcd can be stopped and started again; what was
//! stored survives, an existing client and a running watch carry on, and so does the rest
//! of the cluster.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, PodSpec, Toleration};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use sei_testenv::{Component, ControlPlane, FAKE_NODE_TAINT_KEY, Options, pid_alive};

async fn eventually<T, F, Fut>(what: &str, secs: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn config_map(name: &str) -> ConfigMap {
    ConfigMap { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}

/// Whether the API server says it is ready, asked through `client` (false on any error
/// or no answer within 10 s).
async fn ready(client: &Client) -> bool {
    let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
    matches!(tokio::time::timeout(Duration::from_secs(10), client.request_text(req)).await, Ok(Ok(_)))
}

fn pid_of(cp: &ControlPlane, component: Component) -> Option<u32> {
    cp.pids().into_iter().find(|(name, _)| name == component.name()).map(|(_, pid)| pid)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_apiserver_and_etcd_come_back_with_their_data_and_clients_reconnect() {
    let mut options = Options::full();
    options.audit = true;
    let cp = ControlPlane::start(options).await.expect("control plane starts");
    // One client for the whole test, as a controller keeps one for its lifetime.
    let client = cp.client().await.unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    cms.create(&PostParams::default(), &config_map("before")).await.unwrap();

    // A watch started before any outage, as a controller's is.
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let watch = tokio::spawn({
        let (cms, seen) = (cms.clone(), seen.clone());
        async move {
            watcher(cms, watcher::Config::default())
                .default_backoff()
                .applied_objects()
                .for_each(|cm| {
                    if let Ok(cm) = cm {
                        seen.lock().unwrap().insert(cm.name_any());
                    }
                    async {}
                })
                .await
        }
    });
    let watched = |name: &'static str| {
        let seen = seen.clone();
        async move { seen.lock().unwrap().contains(name).then_some(()) }
    };
    eventually("the watch sees `before`", 30, || watched("before")).await;

    // API server outage: it is really gone, then back on the same address.
    let old = pid_of(&cp, Component::ApiServer).unwrap();
    cp.stop_component(Component::ApiServer).unwrap();
    assert!(!cp.is_running(Component::ApiServer));
    assert!(!pid_alive(old), "the API server process still exists");
    assert!(cms.get("before").await.is_err(), "a stopped API server answered");
    tokio::time::sleep(Duration::from_secs(1)).await;
    cp.start_component(Component::ApiServer).await.unwrap();
    assert!(cp.is_running(Component::ApiServer));
    assert_ne!(pid_of(&cp, Component::ApiServer), Some(old), "a new API server process");
    eventually("the existing client reading again", 30, || async { cms.get("before").await.ok() }).await;
    cms.create(&PostParams::default(), &config_map("after-apiserver")).await.unwrap();
    eventually("the watch sees `after-apiserver`", 60, || watched("after-apiserver")).await;
    // The restarted API server appends to the same audit log.
    let created: Vec<String> = cp
        .audit()
        .unwrap()
        .into_iter()
        .filter(|r| r.verb == "create" && r.resource == "configmaps" && r.code == 201)
        .map(|r| r.name)
        .collect();
    for name in ["before", "after-apiserver"] {
        assert!(created.iter().any(|n| n == name), "{name} missing from the audit log: {created:?}");
    }

    // etcd outage (pause_for, run beside a probe): the API server keeps running and says
    // it is not ready; afterwards it has reconnected and everything stored is there.
    let apiserver = pid_of(&cp, Component::ApiServer).unwrap();
    let etcd = pid_of(&cp, Component::Etcd).unwrap();
    // The API server notices within its etcd health-check timeout (a few seconds, more
    // under load): asked every half second, it must say "not ready" before etcd is back.
    let (paused, noticed) = tokio::join!(cp.pause_for(Component::Etcd, Duration::from_secs(8)), async {
        for _ in 0..14 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if !ready(&client).await {
                return true;
            }
        }
        false
    });
    paused.unwrap();
    assert!(noticed, "the API server kept saying it was ready while etcd was stopped");
    assert!(!pid_alive(etcd), "the first etcd process still exists");
    assert_eq!(pid_of(&cp, Component::ApiServer), Some(apiserver), "the API server was not restarted");
    for name in ["before", "after-apiserver"] {
        eventually(name, 30, || async { cms.get(name).await.ok() }).await;
    }
    cms.create(&PostParams::default(), &config_map("after-etcd")).await.unwrap();
    eventually("the watch sees `after-etcd`", 60, || watched("after-etcd")).await;

    // Both stopped: the API server refuses to start before etcd, with an error that says so.
    cp.stop_component(Component::ApiServer).unwrap();
    cp.stop_component(Component::Etcd).unwrap();
    cp.stop_component(Component::Etcd).unwrap(); // stopping a stopped one does nothing
    let err = cp.start_component(Component::ApiServer).await.expect_err("etcd is stopped").to_string();
    assert!(err.contains("start Component::Etcd first"), "{err}");
    cp.start_component(Component::Etcd).await.unwrap();
    cp.start_component(Component::ApiServer).await.unwrap();
    let names: BTreeSet<String> = eventually("a list after both restarts", 30, || async {
        Some(cms.list(&Default::default()).await.ok()?.items.iter().map(|c| c.name_any()).collect())
    })
    .await;
    for name in ["before", "after-apiserver", "after-etcd"] {
        assert!(names.contains(name), "{name} lost: {names:?}");
    }

    // The rest of the cluster lived through it: all five components run, and a new pod is
    // scheduled onto the fake node and reported Running by kwok.
    assert_eq!(cp.pids().len(), 5, "{:?}", cp.pids());
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = Pod {
        metadata: ObjectMeta { name: Some("after-outages".into()), ..Default::default() },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("example/none:1".into()),
                ..Default::default()
            }],
            tolerations: Some(vec![Toleration {
                key: Some(FAKE_NODE_TAINT_KEY.into()),
                operator: Some("Exists".into()),
                effect: Some("NoSchedule".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    pods.create(&PostParams::default(), &pod).await.unwrap();
    eventually("the new pod Running", 60, || async {
        let p = pods.get("after-outages").await.ok()?;
        (p.status?.phase.as_deref() == Some("Running")).then_some(())
    })
    .await;
    watch.abort();
}
