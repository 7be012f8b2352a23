//! `seictl bench` (issue 12, under way): the objects of a throw-away chain, its RPC fleet
//! and a workload Job. Only the pure planning exists so far; the verbs that apply, wait,
//! list and delete come next.

pub mod plan;
