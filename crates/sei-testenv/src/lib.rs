//! Test support: a real Kubernetes control plane on the local machine.
//!
//! [`ControlPlane::start`] runs etcd and kube-apiserver, and on request
//! kube-controller-manager, kube-scheduler and kwok with fake nodes, each as a child
//! process bound to 127.0.0.1 with its own temp directory, certificates and log. It hands
//! back a kubeconfig and a [`kube::Client`], and tears everything down when dropped —
//! also after a panic, and (through the kernel's parent-death signal) when the test
//! process is killed outright.

mod audit;
mod binaries;
mod certs;
mod control_plane;
mod ec2_server;
mod error;
pub mod images;
mod kwok;
mod manifests;
mod operator;
mod peer_network;
mod pod_runner;
mod process;
mod prometheus;
mod real_node;
mod s3_server;
mod seid_sim;

pub use audit::{AuditRecord, by_verb};
pub use binaries::{Binaries, foreign_crds, tool};
pub use control_plane::{Component, ControlPlane, Options, shared};
pub use ec2_server::{Ec2Instance, Ec2Server};
pub use error::Error;
pub use kwok::{
    FAKE_NODE_ANNOTATION, FAKE_NODE_TAINT_KEY, FAKE_NODE_TAINT_VALUE, SIMULATED_PLATFORM, STORAGE_CLASS,
    create_untainted_node,
};
pub use operator::operator_command;
pub use peer_network::PeerNetwork;
pub use pod_runner::PodRunner;
pub use process::{Process, pid_alive, send_signal};
pub use prometheus::start_prometheus;
pub use real_node::{
    PAUSE_IMAGE, PROVISIONER, REAL_NODE_POOL, REAL_NODE_TAINT_KEY, REAL_STORAGE_CLASS, RealNode, RealNodeOptions,
    RealNodeTools, SEID_IMAGES, normalized_image, real_platform, workspace_images,
};
pub use s3_server::{S3_ACCESS_KEY, S3_SECRET_KEY, S3Server};
pub use seid_sim::{BLOCK_TIME, CATCH_UP, LiveChain, SeidSimulator, block_hash};

pub use manifests::apply_manifests;
