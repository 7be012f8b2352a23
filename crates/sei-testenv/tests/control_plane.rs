//! The simulated cluster behaves like a real one where the operator depends on it.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodSpec, PodTemplateSpec,
    Toleration, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::{Client, Resource, ResourceExt};
use sei_testenv::{ControlPlane, FAKE_NODE_TAINT_KEY, Options, STORAGE_CLASS};

async fn namespace(client: &Client, name: &str) {
    let ns = Namespace { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
}

async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_string(), "probe".to_string())])
}

fn fake_node_pod_spec() -> PodSpec {
    PodSpec {
        containers: vec![Container { name: "main".into(), image: Some("example/none:1".into()), ..Default::default() }],
        tolerations: Some(vec![Toleration {
            key: Some(FAKE_NODE_TAINT_KEY.into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

#[tokio::test]
async fn full_cluster_schedules_pods_binds_volumes_runs_statefulsets_and_collects_garbage() {
    let cp = ControlPlane::start(Options::full()).await.expect("control plane starts");
    let client = cp.client().await.unwrap();
    namespace(&client, "probe").await;

    // The scheduler binds a pod to the fake node and kwok reports it Running.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "probe");
    let pod = Pod {
        metadata: ObjectMeta { name: Some("single".into()), ..Default::default() },
        spec: Some(fake_node_pod_spec()),
        ..Default::default()
    };
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let node = eventually("pod Running", || async {
        let p = pods.get("single").await.ok()?;
        let running = p.status.as_ref()?.phase.as_deref() == Some("Running");
        running.then(|| p.spec?.node_name)?
    })
    .await;
    assert_eq!(node, "kwok-node-0");

    // kwok provisions and binds a PVC of its StorageClass.
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), "probe");
    let pvc = PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some("data".into()), ..Default::default() },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: Some(STORAGE_CLASS.into()),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_string(), Quantity("1Gi".into()))])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    pvcs.create(&PostParams::default(), &pvc).await.unwrap();
    eventually("PVC Bound", || async {
        let p = pvcs.get("data").await.ok()?;
        (p.status?.phase.as_deref() == Some("Bound")).then_some(())
    })
    .await;

    // The StatefulSet controller creates the pod, which becomes Running and Ready.
    let sts_api: Api<StatefulSet> = Api::namespaced(client.clone(), "probe");
    let sts = StatefulSet {
        metadata: ObjectMeta { name: Some("node".into()), ..Default::default() },
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some("node".into()),
            selector: LabelSelector { match_labels: Some(labels()), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels()), ..Default::default() }),
                spec: Some(fake_node_pod_spec()),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let sts = sts_api.create(&PostParams::default(), &sts).await.unwrap();
    eventually("StatefulSet ready", || async {
        let s = sts_api.get("node").await.ok()?;
        (s.status?.ready_replicas == Some(1)).then_some(())
    })
    .await;

    // The garbage collector deletes dependents of a deleted owner.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "probe");
    let owned = ConfigMap {
        metadata: ObjectMeta {
            name: Some("owned".into()),
            owner_references: Some(vec![OwnerReference {
                api_version: StatefulSet::api_version(&()).into(),
                kind: StatefulSet::kind(&()).into(),
                name: sts.name_any(),
                uid: sts.uid().unwrap(),
                ..Default::default()
            }]),
            ..Default::default()
        },
        ..Default::default()
    };
    cms.create(&PostParams::default(), &owned).await.unwrap();
    sts_api.delete("node", &DeleteParams::background()).await.unwrap();
    eventually("owned ConfigMap collected", || async { cms.get_opt("owned").await.ok()?.is_none().then_some(()) })
        .await;
    eventually("StatefulSet pod collected", || async { pods.get_opt("node-0").await.ok()?.is_none().then_some(()) })
        .await;
    cp.stop();
}
