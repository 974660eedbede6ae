//! convexlens: the geometry of neural-network embeddings.
//!
//! The core is pure: readers turn bytes into arrays ([`io`]), algorithms take arrays and
//! options and return plain structs. Each score lives in one module:
//! [`graph_convexity`], [`euclidean_convexity`], [`layers`]. The wasm-bindgen layer
//! ([`wasm`]) only converts types.

pub mod analysis;
pub mod data;
pub mod error;
pub mod euclidean_convexity;
pub mod graph;
pub mod graph_convexity;
pub mod groups;
pub mod heads;
pub mod io;
pub mod knn;
pub mod layers;
pub mod linalg;
pub mod logistic;
pub mod memorization;
pub mod memorization_report;
pub mod mitigation;
pub mod mlp;
pub mod nndescent;
pub mod progress;
pub mod projection;
pub mod report;
pub mod rng;
pub mod stats;
pub mod tracing;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Error, Result};
