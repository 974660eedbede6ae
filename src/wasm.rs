//! The JavaScript-facing API (wasm-bindgen). It only converts types: requests arrive as plain
//! objects, results leave as plain objects (the SPEC §6 envelope), errors as JS `Error`s.

use crate::analysis::{self, CorrelateRequest, EuclideanRequest, FileSet, GraphRequest, LayersRequest, MemorizationRequest, Source};
use crate::error::{Error, Result};
use crate::graph_convexity::NeighbourGraph;
use crate::progress::Progress;
use serde::Serialize;
use wasm_bindgen::prelude::*;

fn to_js<T: Serialize>(value: &T) -> std::result::Result<JsValue, JsError> {
    // json_compatible: maps become plain objects and 64-bit integers plain numbers.
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(|e| JsError::new(&e.to_string()))
}

fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> std::result::Result<T, JsError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| JsError::new(&format!("invalid {what}: {e}")))
}

fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

/// Calls `callback(stage, fraction)`; a thrown exception cancels the run.
struct JsProgress<'a>(&'a js_sys::Function);

impl Progress for JsProgress<'_> {
    fn report(&mut self, stage: &str, fraction: f64) -> Result<()> {
        self.0
            .call2(&JsValue::NULL, &JsValue::from_str(stage), &JsValue::from_f64(fraction))
            .map(|_| ())
            .map_err(|_| Error::Cancelled)
    }
}

/// What one file holds, without running anything: format, arrays or columns, shapes.
#[wasm_bindgen]
pub fn inspect(name: &str, bytes: &[u8]) -> std::result::Result<JsValue, JsError> {
    to_js(&crate::io::read_file(name, bytes).map_err(js_error)?.summary())
}

/// The files of one page session and the last neighbour graph, for drawing paths.
#[wasm_bindgen]
pub struct Session {
    files: FileSet,
    graph: Option<(Source, usize, NeighbourGraph)>,
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session { files: FileSet::new(Vec::new()), graph: None }
    }

    /// Adds (or replaces) a file by name.
    pub fn add_file(&mut self, name: String, bytes: Vec<u8>) {
        self.files.insert(name, bytes);
        self.graph = None;
    }

    pub fn graph(&mut self, request: JsValue, progress: &js_sys::Function) -> std::result::Result<JsValue, JsError> {
        let request: GraphRequest = from_js(request, "graph request")?;
        let (envelope, graph) =
            analysis::run_graph(&mut self.files, &request, &mut JsProgress(progress)).map_err(js_error)?;
        self.graph = graph.map(|g| (request.embeddings.clone(), request.options.k, g));
        to_js(&envelope)
    }

    pub fn euclidean(&mut self, request: JsValue, progress: &js_sys::Function) -> std::result::Result<JsValue, JsError> {
        let request: EuclideanRequest = from_js(request, "Euclidean request")?;
        to_js(&analysis::run_euclidean(&mut self.files, &request, &mut JsProgress(progress)).map_err(js_error)?)
    }

    pub fn layers(&mut self, request: JsValue, progress: &js_sys::Function) -> std::result::Result<JsValue, JsError> {
        let request: LayersRequest = from_js(request, "layers request")?;
        to_js(&analysis::run_layers(&mut self.files, &request, &mut JsProgress(progress)).map_err(js_error)?)
    }

    pub fn correlate(&mut self, request: JsValue, progress: &js_sys::Function) -> std::result::Result<JsValue, JsError> {
        let request: CorrelateRequest = from_js(request, "correlation request")?;
        to_js(&analysis::run_correlate(&mut self.files, &request, &mut JsProgress(progress)).map_err(js_error)?)
    }

    pub fn memorization(&mut self, request: JsValue, progress: &js_sys::Function) -> std::result::Result<JsValue, JsError> {
        let request: MemorizationRequest = from_js(request, "memorization request")?;
        to_js(&analysis::run_memorization(&mut self.files, &request, &mut JsProgress(progress)).map_err(js_error)?)
    }

    /// 2-D PCA coordinates of an embedding source, as [x0, y0, x1, y1, ...].
    pub fn projection(&mut self, source: JsValue) -> std::result::Result<Vec<f32>, JsError> {
        let source: Source = from_js(source, "source")?;
        let x = self.unrecorded_matrix(&source)?;
        Ok(crate::projection::pca_2d(&x))
    }

    /// The shortest graph path between two rows on the graph of the last graph-convexity run
    /// (same embeddings and k), as used by the score.
    pub fn path(&mut self, source: JsValue, k: usize, a: usize, b: usize) -> std::result::Result<JsValue, JsError> {
        let source: Source = from_js(source, "source")?;
        let cached = matches!(&self.graph, Some((s, gk, _)) if *s == source && *gk == k);
        if !cached {
            let x = self.unrecorded_matrix(&source)?;
            let g = NeighbourGraph::build(&x, k, &mut crate::progress::silent()).map_err(js_error)?;
            self.graph = Some((source, k, g));
        }
        let (_, _, g) = self.graph.as_ref().expect("set above");
        to_js(&g.path(a, b).map_err(js_error)?)
    }
}

impl Session {
    /// Views (projection, paths) read embeddings without listing them among the next
    /// analysis's recorded inputs.
    fn unrecorded_matrix(&mut self, source: &Source) -> std::result::Result<crate::data::Matrix, JsError> {
        self.files.content(&source.file).and_then(|c| c.matrix(source.field.as_deref())).map_err(js_error)
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}
