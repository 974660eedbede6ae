//! The JavaScript-facing API (wasm-bindgen). It only converts types: requests arrive as plain
//! objects, results leave as plain objects (the SPEC §6 envelope), errors as JS `Error`s.

use crate::analysis::{self, CorrelateRequest, GraphJob, EuclideanRequest, FileSet, GraphRequest, LayersRequest, MemorizationRequest, Source};
use crate::error::{Error, Result};
use crate::data::{Labels, Matrix};
use crate::graph::Graph;
use crate::graph_convexity::{score_rows, GraphOptions, NeighbourGraph, PathPlan};
use crate::knn::{candidate_cap, Candidates, KnnLists, Prepared};
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

/// Runs only the f32 distance kernel of the exact neighbour search over the rows of `data`
/// (`rows` × `cols`) on this thread and returns the floating-point operations it did; the
/// caller times the call (www/bench-kernel.html).
#[wasm_bindgen]
pub fn distance_kernel(data: Vec<f32>, rows: usize, cols: usize) -> std::result::Result<f64, JsError> {
    let x = Matrix::new(rows, cols, data).map_err(js_error)?;
    Ok(crate::knn::product_kernel(&x))
}

/// Runs a small analysis so that the browser optimises the module's code before a person's
/// first one (see `graph_convexity::warm_up`); returns its score.
#[wasm_bindgen]
pub fn warm_up() -> std::result::Result<f64, JsError> {
    Ok(crate::graph_convexity::warm_up().map_err(js_error)?.0)
}

/// The warm-up's data as a person would drop it, [embeddings.npy, labels.npy]: the analysis
/// worker runs it once through the pool (www/worker.js), so that the first real run meets
/// warmed-up JavaScript, glue and message paths as well as optimised module code.
#[wasm_bindgen]
pub fn warm_up_files() -> js_sys::Array {
    let (x, labels) = crate::graph_convexity::warm_up_data();
    let codes: Vec<f32> = labels.codes.iter().map(|&c| c as f32).collect();
    let embeddings = crate::io::npy_f32(x.rows, x.cols, &x.data);
    let labels = crate::io::npy_f32(codes.len(), 0, &codes);
    typed_arrays(&[js_sys::Uint8Array::from(&embeddings[..]).into(), js_sys::Uint8Array::from(&labels[..]).into()])
}

/// The files of one page session and the last neighbour graph, for drawing paths.
#[wasm_bindgen]
pub struct Session {
    files: FileSet,
    graph: Option<(Source, usize, NeighbourGraph)>,
    /// A graph run whose phases a pool of workers is doing (www/pool.js).
    job: Option<GraphJob>,
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Session {
        Session { files: FileSet::new(Vec::new()), graph: None, job: None }
    }

    /// Adds (or replaces) a file by name.
    pub fn add_file(&mut self, name: String, bytes: Vec<u8>) {
        self.files.insert(name, bytes);
        self.graph = None;
    }

    /// Adds a file with its SHA-256 (lower-case hex) computed by the caller, e.g. with
    /// `crypto.subtle.digest`, which is native code and many times faster than hashing here.
    pub fn add_file_with_digest(&mut self, name: String, bytes: Vec<u8>, sha256: String) -> std::result::Result<(), JsError> {
        self.files.insert_with_digest(name, bytes, sha256).map_err(js_error)?;
        self.graph = None;
        Ok(())
    }

    /// Adds a file, with its SHA-256 (lower-case hex) when the caller has it, and returns what
    /// it holds, as `inspect` does: parsed once for both, so the first analysis does not
    /// parse it again. A file that cannot be read is not added.
    pub fn add_and_inspect(&mut self, name: String, bytes: Vec<u8>, sha256: Option<String>) -> std::result::Result<JsValue, JsError> {
        let summary = self.files.insert_parsed(name, bytes, sha256).map_err(js_error)?;
        self.graph = None;
        to_js(&summary)
    }

    pub fn graph(&mut self, request: JsValue, progress: &js_sys::Function) -> std::result::Result<JsValue, JsError> {
        let request: GraphRequest = from_js(request, "graph request")?;
        let (envelope, graph) =
            analysis::run_graph(&mut self.files, &request, &mut JsProgress(progress)).map_err(js_error)?;
        self.graph = graph.map(|g| (request.embeddings.clone(), request.options.k, g));
        to_js(&envelope)
    }

    /// Starts a graph run for a pool of `workers` workers (www/pool.js) when it builds the
    /// exact graph of at least `min_rows` rows and their copies fit in memory: returns its
    /// sizes, or null when `graph` should run it.
    pub fn graph_begin(&mut self, request: JsValue, min_rows: usize, workers: usize) -> std::result::Result<JsValue, JsError> {
        let request: GraphRequest = from_js(request, "graph request")?;
        self.job = None;
        self.job = analysis::begin_graph(&mut self.files, &request, min_rows, workers).map_err(js_error)?;
        let Some(job) = &self.job else { return Ok(JsValue::NULL) };
        #[derive(Serialize)]
        struct Sizes<'a> {
            rows: usize,
            cols: usize,
            k: usize,
            block_pairs: usize,
            classes: &'a [String],
        }
        to_js(&Sizes {
            rows: job.x.rows,
            cols: job.x.cols,
            k: job.request.options.k,
            block_pairs: crate::knn::block_pair_count(job.x.rows),
            classes: &job.labels.classes,
        })
    }

    /// Forgets the run begun (after the pool failed), releasing its copy of the rows.
    pub fn graph_abandon(&mut self) {
        self.job = None;
    }

    /// A copy of the rows of the run begun, row-major, for one pool worker.
    pub fn graph_matrix(&self) -> std::result::Result<js_sys::Float32Array, JsError> {
        Ok(js_sys::Float32Array::from(&self.job()?.x.data[..]))
    }

    /// The class code of every row of the run begun.
    pub fn graph_codes(&self) -> std::result::Result<Vec<u32>, JsError> {
        Ok(self.job()?.labels.codes.clone())
    }

    /// Draws the pairs of the run begun (while the pool scans) and returns how many there are.
    pub fn graph_plan(&mut self) -> std::result::Result<usize, JsError> {
        let job = self.job.as_mut().ok_or_else(no_job)?;
        Ok(job.plan().map_err(js_error)?.num_queries())
    }

    /// Every row's exact neighbour list, as `GraphPart::refine` gives them, in row order.
    pub fn graph_neighbours(&mut self, lens: &[u32], rows: &[u32], dists: &[f64], exhaustive: usize) -> std::result::Result<(), JsError> {
        let job = self.job.as_mut().ok_or_else(no_job)?;
        let knn = lists_from(job.request.options.k, lens, rows, dists, exhaustive)?;
        job.set_neighbours(knn);
        Ok(())
    }

    /// The result from every query's path score (NaN: no path), as `graph` returns it.
    pub fn graph_finish(&mut self, scores: &[f64]) -> std::result::Result<JsValue, JsError> {
        let job = self.job.take().ok_or_else(no_job)?;
        let (source, k) = (job.request.embeddings.clone(), job.request.options.k);
        let scores: Vec<Option<f64>> = scores.iter().map(|&s| (!s.is_nan()).then_some(s)).collect();
        let (envelope, graph) = job.finish(&mut self.files, &scores).map_err(js_error)?;
        self.graph = graph.map(|g| (source, k, g));
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
            let g = analysis::graph_for_paths(&mut self.files, &source, k).map_err(js_error)?;
            self.graph = Some((source, k, g));
        }
        let (_, _, g) = self.graph.as_ref().expect("set above");
        to_js(&g.path(a, b).map_err(js_error)?)
    }
}

impl Session {
    fn job(&self) -> std::result::Result<&GraphJob, JsError> {
        self.job.as_ref().ok_or_else(no_job)
    }

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

fn no_job() -> JsError {
    JsError::new("no graph run has begun")
}

/// Neighbour lists sent between workers as flat arrays: each row's length, then all rows'
/// neighbours and distances one after the other.
fn lists_from(k: usize, lens: &[u32], rows: &[u32], dists: &[f64], exhaustive_rows: usize) -> std::result::Result<KnnLists, JsError> {
    let total: usize = lens.iter().map(|&l| l as usize).sum();
    if total != rows.len() || total != dists.len() {
        return Err(JsError::new("neighbour lists of inconsistent lengths"));
    }
    let mut at = 0;
    let neighbors = lens
        .iter()
        .map(|&l| {
            let list = rows[at..at + l as usize].iter().copied().zip(dists[at..at + l as usize].iter().copied()).collect();
            at += l as usize;
            list
        })
        .collect();
    Ok(KnnLists { k, neighbors, exhaustive_rows })
}

fn typed_arrays(parts: &[JsValue]) -> js_sys::Array {
    parts.iter().collect()
}

/// One worker of the page's pool (www/pool-worker.js): its own copy of the rows, and the
/// phases of a graph run over part of them. Results leave as typed arrays, which move
/// between workers without conversion.
#[wasm_bindgen]
pub struct GraphPart {
    x: Matrix,
    prep: Prepared,
    k: usize,
    candidates: Candidates,
    paths: Option<(Graph, PathPlan)>,
}

#[wasm_bindgen]
impl GraphPart {
    #[wasm_bindgen(constructor)]
    pub fn new(data: Vec<f32>, rows: usize, cols: usize, k: usize) -> std::result::Result<GraphPart, JsError> {
        let x = Matrix::new(rows, cols, data).map_err(js_error)?;
        let prep = crate::knn::prepare(&x);
        let candidates = Candidates::new(rows, candidate_cap(rows, k));
        Ok(GraphPart { x, prep, k, candidates, paths: None })
    }

    /// Scans the block pairs numbered `first..end` into this worker's candidates.
    pub fn scan(&mut self, first: usize, end: usize) {
        crate::knn::scan(&self.prep, first..end.min(crate::knn::block_pair_count(self.x.rows)), &mut self.candidates);
    }

    /// This worker's candidates of every row: [distances, rows, lengths].
    pub fn candidates(&self) -> js_sys::Array {
        let c = &self.candidates;
        typed_arrays(&[
            js_sys::Float32Array::from(&c.dist[..]).into(),
            js_sys::Uint32Array::from(&c.row[..]).into(),
            js_sys::Uint32Array::from(&c.len[..]).into(),
        ])
    }

    /// The exact lists of rows `first..` from every worker's candidates of those rows
    /// (an array of `candidates()` triples cut to them): [lengths, rows, distances, exhaustive].
    pub fn refine(&self, first: usize, parts: js_sys::Array) -> std::result::Result<js_sys::Array, JsError> {
        let cap = candidate_cap(self.x.rows, self.k);
        let mut merged: Option<Candidates> = None;
        for part in parts.iter() {
            let p: js_sys::Array = part.dyn_into().map_err(|_| JsError::new("candidates must be an array"))?;
            let c = Candidates {
                cap,
                dist: js_sys::Float32Array::new(&p.get(0)).to_vec(),
                row: js_sys::Uint32Array::new(&p.get(1)).to_vec(),
                len: js_sys::Uint32Array::new(&p.get(2)).to_vec(),
            };
            if c.dist.len() != c.len.len() * cap || c.row.len() != c.dist.len() || first + c.len.len() > self.x.rows {
                return Err(JsError::new("candidates of inconsistent lengths"));
            }
            merged = Some(match merged {
                None => c,
                Some(m) => m.merge(c),
            });
        }
        let merged = merged.ok_or_else(|| JsError::new("no candidates given"))?;
        let (lists, exhaustive) = crate::knn::refine(&self.x, &self.prep, self.k, first, &merged);
        let lens: Vec<u32> = lists.iter().map(|l| l.len() as u32).collect();
        let rows: Vec<u32> = lists.iter().flatten().map(|e| e.0).collect();
        let dists: Vec<f64> = lists.iter().flatten().map(|e| e.1).collect();
        Ok(typed_arrays(&[
            js_sys::Uint32Array::from(&lens[..]).into(),
            js_sys::Uint32Array::from(&rows[..]).into(),
            js_sys::Float64Array::from(&dists[..]).into(),
            JsValue::from_f64(exhaustive as f64),
        ]))
    }

    /// The graph from every row's lists (as `Session::graph_neighbours` takes them) and the
    /// pairs to score, drawn from the labels (class names and each row's code) and options.
    /// Returns the number of pairs, which every worker's plan agrees on.
    pub fn set_graph(&mut self, lens: &[u32], rows: &[u32], dists: &[f64], classes: JsValue, codes: Vec<u32>, options: JsValue) -> std::result::Result<usize, JsError> {
        let knn = lists_from(self.k, lens, rows, dists, 0)?;
        let labels = Labels { classes: from_js(classes, "classes")?, codes };
        let options: GraphOptions = from_js(options, "graph options")?;
        let graph = Graph::from_knn_union(&knn);
        let plan = PathPlan::new(&labels, &options, &graph).map_err(js_error)?;
        let queries = plan.num_queries();
        self.paths = Some((graph, plan));
        Ok(queries)
    }

    /// Path scores of the queries whose search starts at rows `first..end`: [query numbers,
    /// scores (NaN: no path)].
    pub fn paths(&self, first: usize, end: usize) -> std::result::Result<js_sys::Array, JsError> {
        let (graph, plan) = self.paths.as_ref().ok_or_else(|| JsError::new("set_graph first"))?;
        let scored = score_rows(graph, plan, first..end);
        let queries: Vec<u32> = scored.iter().map(|s| s.0).collect();
        let scores: Vec<f64> = scored.iter().map(|s| s.1.unwrap_or(f64::NAN)).collect();
        Ok(typed_arrays(&[js_sys::Uint32Array::from(&queries[..]).into(), js_sys::Float64Array::from(&scores[..]).into()]))
    }
}
