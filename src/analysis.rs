//! From files to a result envelope (SPEC §6): the requests the CLI and the page both make.
//! A request names its inputs as `file` or `file:column` (or `file:array`); the files
//! themselves are handed in as bytes, so this runs the same natively and in a browser.

use crate::data::{Labels, Matrix};
use crate::error::{Error, Result};
use crate::euclidean_convexity::{euclidean_convexity, EuclideanConvexity, EuclideanOptions, LabelSource};
use crate::graph_convexity::{score_on_graph, GraphConvexity, GraphOptions, NeighbourGraph};
use crate::heads::{Activation, Dense, Head};
use crate::io::{read_file, FileContent};
use crate::layers::{self, RecallCorrelation};
use crate::nndescent::{
    build_approximate, check_memory, estimate_recall, GraphInfo, GraphKind, NnDescentOptions, AUTO_APPROXIMATE_ABOVE,
};
use crate::progress::Progress;
use crate::report::{InputRecord, SCHEMA};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which part of which file: `file`, or `file:field` for a column or a named array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    #[serde(default)]
    pub field: Option<String>,
}

impl Source {
    /// Splits `name:field` at the last colon unless the whole text is a known file name.
    pub fn parse(text: &str, known: impl Fn(&str) -> bool) -> Source {
        if !known(text) {
            if let Some((file, field)) = text.rsplit_once(':') {
                if !file.is_empty() && !field.is_empty() && known(file) {
                    return Source { file: file.into(), field: Some(field.into()) };
                }
            }
        }
        Source { file: text.into(), field: None }
    }

    fn describe(&self) -> String {
        match &self.field {
            Some(f) => format!("{}:{f}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The files of one analysis, parsed once each, with what was read from them recorded.
pub struct FileSet {
    bytes: BTreeMap<String, Vec<u8>>,
    parsed: BTreeMap<String, FileContent>,
    /// Each file's SHA-256, computed once: every analysis records it, and in WebAssembly the
    /// software hash of a few MB takes longer than the analysis of a small input.
    digests: BTreeMap<String, String>,
    used: Vec<InputRecord>,
}

impl FileSet {
    pub fn new(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> FileSet {
        FileSet { bytes: files.into_iter().collect(), parsed: BTreeMap::new(), digests: BTreeMap::new(), used: Vec::new() }
    }

    pub fn insert(&mut self, name: String, bytes: Vec<u8>) {
        self.parsed.remove(&name);
        self.digests.remove(&name);
        self.bytes.insert(name, bytes);
    }

    /// Adds a file whose SHA-256 the caller computed already (the page's worker, with the
    /// browser's native WebCrypto); refused unless it is 64 lower-case hex digits.
    pub fn insert_with_digest(&mut self, name: String, bytes: Vec<u8>, sha256: String) -> Result<()> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(Error::input(format!("{name}: '{sha256}' is not a SHA-256 digest in lower-case hex")));
        }
        self.insert(name.clone(), bytes);
        self.digests.insert(name, sha256);
        Ok(())
    }

    /// Reads a file and adds it, with its SHA-256 when the caller computed it (as
    /// [`FileSet::insert_with_digest`]); returns what it holds. The file is parsed once, here,
    /// and not again when an analysis first uses it. A file that cannot be read is not added.
    pub fn insert_parsed(&mut self, name: String, bytes: Vec<u8>, sha256: Option<String>) -> Result<crate::io::FileSummary> {
        let content = read_file(&name, &bytes)?;
        let summary = content.summary();
        match sha256 {
            Some(sha256) => self.insert_with_digest(name.clone(), bytes, sha256)?,
            None => self.insert(name.clone(), bytes),
        }
        self.parsed.insert(name, content);
        Ok(summary)
    }

    pub fn content(&mut self, file: &str) -> Result<&FileContent> {
        if !self.parsed.contains_key(file) {
            let bytes = self
                .bytes
                .get(file)
                .ok_or_else(|| Error::input(format!("{file}: no such file was given")))?;
            let content = read_file(file, bytes)?;
            self.parsed.insert(file.to_string(), content);
        }
        Ok(&self.parsed[file])
    }

    /// Starts an analysis: inputs recorded by an earlier one that failed are forgotten.
    fn start_run(&mut self) -> Timer {
        self.used.clear();
        Timer::start()
    }

    fn record(&mut self, source: &Source, role: &str, shape: Vec<usize>) {
        let bytes = &self.bytes[&source.file];
        let digest = self.digests.entry(source.file.clone()).or_insert_with(|| crate::report::sha256_hex(bytes)).clone();
        self.used.push(InputRecord::new(&source.describe(), role, shape, digest));
    }

    pub fn matrix(&mut self, source: &Source, role: &str) -> Result<Matrix> {
        let m = self.content(&source.file)?.matrix(source.field.as_deref())?;
        self.record(source, role, vec![m.rows, m.cols]);
        Ok(m)
    }

    pub fn column(&mut self, source: &Source, role: &str) -> Result<Vec<String>> {
        let c = self.content(&source.file)?.column(source.field.as_deref())?;
        self.record(source, role, vec![c.len()]);
        Ok(c)
    }

    fn vector(&mut self, source: &Source, role: &str) -> Result<Vec<f32>> {
        let m = self.matrix(source, role)?;
        if m.rows != 1 && m.cols != 1 {
            return Err(Error::parse(&source.describe(), format!("expected a vector, found a {}x{} matrix", m.rows, m.cols)));
        }
        Ok(m.data)
    }
}

/// Every result shares this envelope; the analysis's own fields are flattened into it.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope<T: Serialize, P: Serialize> {
    pub schema: &'static str,
    pub analysis: &'static str,
    pub parameters: P,
    pub inputs: Vec<InputRecord>,
    #[serde(flatten)]
    pub result: T,
    pub subsample: Option<SubsampleNote>,
    pub timings_ms: BTreeMap<String, f64>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubsampleNote {
    pub per_class: usize,
    pub rows_before: usize,
    pub rows_after: usize,
}

/// Wall-clock milliseconds; `performance.now()` in a browser, where `Instant` is unavailable.
pub fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1000.0
    }
}

struct Timer(BTreeMap<String, f64>, f64);

impl Timer {
    fn start() -> Timer {
        Timer(BTreeMap::new(), now_ms())
    }
    fn lap(&mut self, stage: &str) {
        let now = now_ms();
        *self.0.entry(stage.to_string()).or_insert(0.0) += now - self.1;
        self.1 = now;
    }
}

fn read_labels(files: &mut FileSet, source: &Source, rows: usize) -> Result<Labels> {
    let values = files.column(source, "labels")?;
    let labels = Labels::from_strings(&values);
    labels.check_rows(rows, &source.describe())?;
    Ok(labels)
}

/// Applies `per_class` subsampling to every matrix given, announcing it.
fn subsample(
    labels: Labels,
    matrices: Vec<Matrix>,
    per_class: Option<usize>,
    seed: u64,
    warnings: &mut Vec<String>,
) -> (Labels, Vec<Matrix>, Option<SubsampleNote>) {
    let Some(limit) = per_class else { return (labels, matrices, None) };
    match labels.stratified_subsample(limit, seed) {
        None => (labels, matrices, None),
        Some(rows) => {
            let note = SubsampleNote { per_class: limit, rows_before: labels.len(), rows_after: rows.len() };
            warnings.push(format!(
                "subsampled to at most {limit} rows per class ({} of {} rows used, seeded)",
                rows.len(),
                labels.len()
            ));
            let m = matrices.iter().map(|m| m.select_rows(&rows)).collect();
            (labels.select_rows(&rows), m, Some(note))
        }
    }
}

fn graph_warnings(r: &GraphConvexity, warnings: &mut Vec<String>) {
    for s in &r.skipped {
        warnings.push(format!("class '{}' skipped: {} row(s), no pairs", s.label, s.n));
    }
    if r.components > 1 {
        warnings.push(format!(
            "the neighbour graph has {} connected components; {} pair(s) had no path and scored 0",
            r.components, r.no_path
        ));
    }
}

fn euclidean_warnings(r: &EuclideanConvexity, warnings: &mut Vec<String>) {
    for s in &r.skipped {
        warnings.push(format!("class '{}' skipped: {} row(s), no pairs", s.label, s.n));
    }
    if let Some(p) = &r.probe {
        if !p.all_converged {
            warnings.push("a probe stopped before its solver converged; its labels may be slightly off".into());
        }
        if p.held_out_accuracy < 0.5 {
            warnings.push(format!(
                "the probe's held-out accuracy is only {:.1}%: a score measured with a poor probe is not meaningful",
                100.0 * p.held_out_accuracy
            ));
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphRequest {
    pub embeddings: Source,
    pub labels: Source,
    #[serde(default)]
    pub options: GraphOptions,
    #[serde(default)]
    pub per_class: Option<usize>,
    /// Exact neighbours, NN-descent, or auto (approximate above `AUTO_APPROXIMATE_ABOVE` rows).
    #[serde(default)]
    pub graph: GraphKind,
    /// Refuse, before building the graph, inputs whose estimated memory exceeds this many MiB.
    /// Default: 2048 in WebAssembly (a tab has 4 GiB of address space, shared with the page),
    /// none natively.
    #[serde(default)]
    pub memory_limit_mib: Option<u64>,
}

/// Rows whose exact neighbours estimate the recall of an approximate graph.
pub const RECALL_SAMPLE_ROWS: usize = 200;

/// The graph-convexity result with the neighbour graph it was computed on.
#[derive(Debug, Clone, Serialize)]
pub struct GraphAnalysis {
    #[serde(flatten)]
    pub convexity: GraphConvexity,
    pub neighbour_graph: GraphInfo,
}

fn default_memory_limit_mib() -> Option<u64> {
    cfg!(target_arch = "wasm32").then_some(2048)
}

/// Refuses, before any graph is built, an input whose estimated memory exceeds the limit.
/// `copies`: further copies of the rows held elsewhere (the page's pool of workers).
fn check_graph_memory(files: &FileSet, request: &GraphRequest, x: &Matrix, kind: GraphKind, copies: u64) -> Result<()> {
    check_memory_for(files, &request.embeddings, request.memory_limit_mib, request.options.k, x, kind, copies)
}

fn check_memory_for(files: &FileSet, source: &Source, limit_mib: Option<u64>, k: usize, x: &Matrix, kind: GraphKind, copies: u64) -> Result<()> {
    let Some(limit) = limit_mib.or_else(default_memory_limit_mib) else { return Ok(()) };
    // Held now: every file's bytes, the parsed embeddings and the matrix (and its subsample).
    let parsed = 4 * (x.rows * x.cols) as u64;
    let held = files.bytes.values().map(|b| b.len() as u64).sum::<u64>() + (3 + copies) * parsed;
    check_memory(&source.describe(), held, x.rows, x.cols, k, kind, limit.saturating_mul(1 << 20))
}

/// The neighbour graph of all rows of `source` for drawing paths when no analysis built it
/// (the score used a subsample, or another file): the graph `auto` chooses for that many rows,
/// after the same memory check, so a click on the picture cannot start an hour-long search.
pub fn graph_for_paths(files: &mut FileSet, source: &Source, k: usize) -> Result<NeighbourGraph> {
    let x = files.content(&source.file)?.matrix(source.field.as_deref())?;
    NeighbourGraph::check(x.rows, k)?;
    let kind = GraphKind::Auto.resolve(x.rows);
    check_memory_for(files, source, None, k, &x, kind, 0)?;
    match kind {
        GraphKind::Approximate => Ok(build_approximate(&x, k, &NnDescentOptions::default(), &mut crate::progress::silent())?.0),
        _ => NeighbourGraph::build(&x, k, &mut crate::progress::silent()),
    }
}

/// The rows and labels of a graph run after the subsampling it asks for, with its warnings.
fn graph_inputs(files: &mut FileSet, request: &GraphRequest, timer: &mut Timer) -> Result<(Matrix, Labels, Option<SubsampleNote>, Vec<String>)> {
    let x = files.matrix(&request.embeddings, "embeddings")?;
    let labels = read_labels(files, &request.labels, x.rows)?;
    timer.lap("read");
    let mut warnings = Vec::new();
    let (labels, mut m, subsample) = subsample(labels, vec![x], request.per_class, request.options.seed, &mut warnings);
    Ok((m.remove(0), labels, subsample, warnings))
}

/// Also returns the neighbour graph when it covers every row (no subsampling), so a caller
/// can answer path questions about the same rows without building it again.
pub fn run_graph(
    files: &mut FileSet,
    request: &GraphRequest,
    progress: &mut dyn Progress,
) -> Result<(Envelope<GraphAnalysis, GraphRequest>, Option<NeighbourGraph>)> {
    let mut timer = files.start_run();
    let (x, labels, subsample, mut warnings) = graph_inputs(files, request, &mut timer)?;
    let k = request.options.k;
    let kind = request.graph.resolve(x.rows);
    check_graph_memory(files, request, &x, kind, 0)?;
    let (graph, neighbour_graph) = match kind {
        GraphKind::Approximate => {
            let options = NnDescentOptions { seed: request.options.seed, ..NnDescentOptions::default() };
            let (graph, stats) = build_approximate(&x, k, &options, progress)?;
            let recall = estimate_recall(&x, &graph.knn, RECALL_SAMPLE_ROWS, request.options.seed);
            let why = if request.graph == GraphKind::Auto { format!(", chosen for more than {AUTO_APPROXIMATE_ABOVE} rows") } else { String::new() };
            warnings.push(format!(
                "the neighbour graph is approximate (NN-descent{why}): estimated recall@{k} {} on {} sampled rows; \
                 scores on the exact graph may differ, by an amount that cannot be estimated without building it \
                 (graph = exact)",
                recall.recall.map_or("unknown".to_string(), |r| format!("{r:.3}")),
                recall.sample_rows
            ));
            (graph, GraphInfo::approximate(request.graph, stats, recall))
        }
        _ => {
            (NeighbourGraph::build(&x, k, progress)?, GraphInfo::exact(request.graph))
        }
    };
    timer.lap("neighbours");
    let convexity = score_on_graph(&graph, &labels, &request.options, progress)?;
    timer.lap("paths and scores");
    graph_warnings(&convexity, &mut warnings);
    let whole = subsample.is_none().then_some(graph);
    let envelope = Envelope {
        schema: SCHEMA,
        analysis: "graph_convexity",
        parameters: request.clone(),
        inputs: std::mem::take(&mut files.used),
        result: GraphAnalysis { convexity, neighbour_graph },
        subsample,
        timings_ms: timer.0,
        warnings,
    };
    Ok((envelope, whole))
}

/// A head given as arrays: a linear head is one layer; an MLP lists its layers in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadSpec {
    /// (W, b) per layer.
    pub layers: Vec<(Source, Source)>,
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// One class name per output, in output order; default: the sorted labels.
    #[serde(default)]
    pub classes: Option<Source>,
}

fn default_activation() -> Activation {
    Activation::Relu
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EuclideanRequest {
    pub embeddings: Source,
    pub labels: Source,
    /// None: a linear probe fitted here.
    #[serde(default)]
    pub head: Option<HeadSpec>,
    /// For the probe: a column whose values mark training rows (train/1/true).
    #[serde(default)]
    pub split: Option<Source>,
    #[serde(default)]
    pub options: EuclideanOptions,
    #[serde(default)]
    pub per_class: Option<usize>,
}

fn read_head(files: &mut FileSet, spec: &HeadSpec, inputs: usize) -> Result<(Head, Option<Vec<String>>)> {
    let mut layers = Vec::new();
    let mut width = inputs;
    for (w, b) in &spec.layers {
        let weights = files.matrix(w, "head weights")?;
        let bias = files.vector(b, "head bias")?;
        let layer = Dense::from_arrays(&weights, &bias, width, &w.describe())?;
        width = layer.outputs();
        layers.push(layer);
    }
    let head = match layers.len() {
        0 => return Err(Error::input("a head needs at least one (weights, bias) layer")),
        1 => Head::Linear(layers.remove(0)),
        _ => Head::mlp(layers, spec.activation)?,
    };
    let classes = match &spec.classes {
        Some(s) => Some(files.column(s, "head classes")?),
        None => None,
    };
    Ok((head, classes))
}

/// Rows marked as training in a split column.
pub fn parse_split(values: &[String], name: &str) -> Result<Vec<bool>> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v.trim().to_ascii_lowercase().as_str() {
            "train" | "training" | "1" | "true" => Ok(true),
            "test" | "val" | "valid" | "validation" | "eval" | "0" | "false" => Ok(false),
            other => Err(Error::input(format!(
                "{name}: row {i} has split value '{other}'; use train/test (or 1/0, true/false)"
            ))),
        })
        .collect()
}

pub fn run_euclidean(
    files: &mut FileSet,
    request: &EuclideanRequest,
    progress: &mut dyn Progress,
) -> Result<Envelope<EuclideanConvexity, EuclideanRequest>> {
    let mut timer = files.start_run();
    let x = files.matrix(&request.embeddings, "embeddings")?;
    let labels = read_labels(files, &request.labels, x.rows)?;
    let head = match &request.head {
        Some(spec) => Some(read_head(files, spec, x.cols)?),
        None => None,
    };
    let split = match &request.split {
        Some(s) => {
            let values = files.column(s, "split")?;
            if values.len() != x.rows {
                return Err(Error::input(format!("{}: {} rows but the embeddings have {}", s.describe(), values.len(), x.rows)));
            }
            Some(parse_split(&values, &s.describe())?)
        }
        None => None,
    };
    timer.lap("read");
    let mut warnings = Vec::new();
    let (labels, mut m, subsample) = match &split {
        // A split is per row; subsampling would have to follow it, so it is not combined.
        Some(_) if request.per_class.is_some() => {
            return Err(Error::input("per-class subsampling cannot be combined with a train/test split"))
        }
        _ => subsample(labels, vec![x], request.per_class, request.options.seed, &mut warnings),
    };
    let x = m.remove(0);
    let source = match &head {
        Some((h, classes)) => LabelSource::Head { head: h, classes: classes.clone() },
        None => LabelSource::Probe { train: split.as_deref() },
    };
    let result = euclidean_convexity(&x, &labels, &source, &request.options, progress)?;
    timer.lap("segments and scores");
    euclidean_warnings(&result, &mut warnings);
    Ok(Envelope {
        schema: SCHEMA,
        analysis: "euclidean_convexity",
        parameters: request.clone(),
        inputs: std::mem::take(&mut files.used),
        result,
        subsample,
        timings_ms: timer.0,
        warnings,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayersRequest {
    /// One embedding file per layer (or model), in order.
    pub layers: Vec<Source>,
    pub labels: Source,
    #[serde(default)]
    pub graph: GraphOptions,
    /// Also Euclidean convexity with a cross-fitted linear probe per layer.
    #[serde(default)]
    pub euclidean: Option<EuclideanOptions>,
    #[serde(default)]
    pub per_class: Option<usize>,
    /// As in [`GraphRequest`]: refuse inputs estimated to need more MiB than this.
    #[serde(default)]
    pub memory_limit_mib: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayerResult {
    pub layer: String,
    pub graph: GraphConvexity,
    pub euclidean: Option<EuclideanConvexity>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LayersResult {
    pub layers: Vec<LayerResult>,
}

pub fn run_layers(
    files: &mut FileSet,
    request: &LayersRequest,
    progress: &mut dyn Progress,
) -> Result<Envelope<LayersResult, LayersRequest>> {
    if request.layers.is_empty() {
        return Err(Error::input("give at least one layer file"));
    }
    let mut timer = files.start_run();
    let mut matrices = Vec::new();
    for source in &request.layers {
        matrices.push(files.matrix(source, "layer")?);
    }
    let rows = matrices[0].rows;
    for (m, s) in matrices.iter().zip(&request.layers) {
        if m.rows != rows {
            return Err(Error::input(format!(
                "{} has {} rows but {} has {rows}: layer files must hold the same rows",
                s.describe(),
                m.rows,
                request.layers[0].describe()
            )));
        }
    }
    let labels = read_labels(files, &request.labels, rows)?;
    timer.lap("read");
    let mut warnings = Vec::new();
    let (labels, matrices, subsample) = subsample(labels, matrices, request.per_class, request.graph.seed, &mut warnings);
    let total = matrices.len();
    // Every layer is held at once (parsed and as a matrix) while each graph is built.
    for (x, source) in matrices.iter().zip(&request.layers) {
        check_memory_for(files, source, request.memory_limit_mib, request.graph.k, x, GraphKind::Exact, 2 * (total as u64 - 1))?;
    }
    let mut out = Vec::new();
    for (i, (x, source)) in matrices.iter().zip(&request.layers).enumerate() {
        let layer = source.describe();
        let mut scoped = |stage: &str, f: f64| progress.report(&format!("layer {}/{total}: {stage}", i + 1), f);
        let graph = NeighbourGraph::build(x, request.graph.k, &mut scoped)?;
        let g = score_on_graph(&graph, &labels, &request.graph, &mut scoped)?;
        graph_warnings(&g, &mut warnings);
        let e = match &request.euclidean {
            Some(opts) => {
                let e = euclidean_convexity(x, &labels, &LabelSource::Probe { train: None }, opts, &mut scoped)?;
                euclidean_warnings(&e, &mut warnings);
                Some(e)
            }
            None => None,
        };
        timer.lap(&layer);
        out.push(LayerResult { layer, graph: g, euclidean: e });
    }
    warnings.dedup();
    Ok(Envelope {
        schema: SCHEMA,
        analysis: "layers",
        parameters: request.clone(),
        inputs: std::mem::take(&mut files.used),
        result: LayersResult { layers: out },
        subsample,
        timings_ms: timer.0,
        warnings,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelateRequest {
    pub pretrained: Source,
    pub finetuned: Source,
    pub labels: Source,
    /// The fine-tuned model's predicted class per row; default: a cross-validated probe on
    /// the fine-tuned embeddings.
    #[serde(default)]
    pub predictions: Option<Source>,
    #[serde(default)]
    pub graph: GraphOptions,
    #[serde(default)]
    pub probe: crate::logistic::LogisticOptions,
}

pub fn run_correlate(
    files: &mut FileSet,
    request: &CorrelateRequest,
    progress: &mut dyn Progress,
) -> Result<Envelope<RecallCorrelation, CorrelateRequest>> {
    let mut timer = files.start_run();
    let pre = files.matrix(&request.pretrained, "pretrained embeddings")?;
    let labels = read_labels(files, &request.labels, pre.rows)?;
    let predicted = match &request.predictions {
        Some(p) => {
            let values = files.column(p, "predictions")?;
            Some(values)
        }
        None => None,
    };
    let fine = files.matrix(&request.finetuned, "fine-tuned embeddings")?;
    if fine.rows != pre.rows {
        return Err(Error::input(format!(
            "{} has {} rows but {} has {}",
            request.finetuned.describe(),
            fine.rows,
            request.pretrained.describe(),
            pre.rows
        )));
    }
    timer.lap("read");
    let graph = NeighbourGraph::build(&pre, request.graph.k, progress)?;
    let convexity = score_on_graph(&graph, &labels, &request.graph, progress)?;
    timer.lap("pretrained graph convexity");
    let (recall, source) = match predicted {
        Some(p) => (layers::per_class_recall(&labels, &p)?, "the given predictions"),
        None => {
            progress.report("fitting probes", 0.0)?;
            let p = crate::logistic::cross_validated_predictions(&fine, &labels, 5, request.graph.seed, &request.probe)?;
            let names: Vec<String> = p.iter().map(|&c| labels.classes[c as usize].clone()).collect();
            (layers::per_class_recall(&labels, &names)?, "a 5-fold cross-validated linear probe on the fine-tuned embeddings")
        }
    };
    timer.lap("recall");
    let result = layers::convexity_vs_recall(&convexity, &labels, &recall, source);
    let mut warnings = Vec::new();
    graph_warnings(&convexity, &mut warnings);
    if result.pearson.is_none() {
        warnings.push("fewer than three classes, or a constant column: no correlation can be computed".into());
    }
    Ok(Envelope {
        schema: SCHEMA,
        analysis: "convexity_vs_recall",
        parameters: request.clone(),
        inputs: std::mem::take(&mut files.used),
        result,
        subsample: None,
        timings_ms: timer.0,
        warnings,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemorizationRequest {
    pub embeddings: Source,
    /// Test rows in a file of their own; then every column covers the embeddings' rows
    /// followed by these, and `split` is not needed.
    #[serde(default)]
    pub test_embeddings: Option<Source>,
    pub labels: Source,
    #[serde(default)]
    pub attr: Option<Source>,
    #[serde(default)]
    pub group: Option<Source>,
    #[serde(default)]
    pub split: Option<Source>,
    /// Row ids to show beside the most memorized rows.
    #[serde(default)]
    pub ids: Option<Source>,
    /// Group names to treat as minorities instead of the share rule.
    #[serde(default)]
    pub minority: Option<Vec<String>>,
    /// The model's own linear head; default: a logistic head fitted on the training rows.
    #[serde(default)]
    pub head: Option<HeadSpec>,
    #[serde(default)]
    pub options: crate::memorization_report::ReportOptions,
}

pub fn run_memorization(
    files: &mut FileSet,
    request: &MemorizationRequest,
    progress: &mut dyn Progress,
) -> Result<Envelope<crate::memorization_report::MemorizationReport, MemorizationRequest>> {
    let mut timer = files.start_run();
    let mut x = files.matrix(&request.embeddings, "embeddings")?;
    let train_rows = x.rows;
    if let Some(test) = &request.test_embeddings {
        let t = files.matrix(test, "test embeddings")?;
        if t.cols != x.cols {
            return Err(Error::input(format!("{} has {} columns but {} has {}", test.describe(), t.cols, request.embeddings.describe(), x.cols)));
        }
        x = Matrix::new(x.rows + t.rows, x.cols, [x.data, t.data].concat())?;
    }
    let labels = read_labels(files, &request.labels, x.rows)?;
    let mut optional_column = |source: &Option<Source>, role: &str| -> Result<Option<Vec<String>>> {
        match source {
            Some(s) => {
                let values = files.column(s, role)?;
                if values.len() != x.rows {
                    return Err(Error::input(format!("{}: {} rows but the embeddings have {}", s.describe(), values.len(), x.rows)));
                }
                Ok(Some(values))
            }
            None => Ok(None),
        }
    };
    let attr = optional_column(&request.attr, "attribute")?;
    let group = optional_column(&request.group, "group")?;
    let ids = optional_column(&request.ids, "ids")?;
    let split = optional_column(&request.split, "split")?;
    let train = match (&request.test_embeddings, split) {
        (Some(_), _) => (0..x.rows).map(|r| r < train_rows).collect(),
        (None, Some(values)) => parse_split(&values, &request.split.as_ref().expect("given").describe())?,
        (None, None) => return Err(Error::input("give a split column (train/test) or the test rows as a second embeddings file")),
    };
    let head = match &request.head {
        Some(spec) => match read_head(files, spec, x.cols)? {
            (crate::heads::Head::Linear(dense), None) if dense.outputs() == labels.num_classes() => Some(dense),
            (crate::heads::Head::Linear(dense), _) => {
                return Err(Error::input(format!(
                    "the head has {} outputs but the labels have {} classes (its outputs must follow the sorted labels: {})",
                    dense.outputs(),
                    labels.num_classes(),
                    labels.classes.join(", ")
                )))
            }
            _ => return Err(Error::input("the memorization analysis takes a linear head (one weight and one bias file)")),
        },
        None => None,
    };
    timer.lap("read");
    let data = crate::groups::GroupedData::new(x, labels, attr.as_deref(), group.as_deref(), train, request.minority.as_deref())?;
    let result = crate::memorization_report::report(&data, head, ids.as_deref(), &request.options, progress)?;
    timer.lap("analysis");
    let mut warnings = Vec::new();
    for g in &result.groups {
        if g.info.n_train == 0 || g.info.n_test == 0 {
            warnings.push(format!("group '{}' has no {} rows", g.info.group, if g.info.n_train == 0 { "training" } else { "test" }));
        }
    }
    Ok(Envelope {
        schema: SCHEMA,
        analysis: "memorization",
        parameters: request.clone(),
        inputs: std::mem::take(&mut files.used),
        result,
        subsample: None,
        timings_ms: timer.0,
        warnings,
    })
}

/// [`run_graph`] split around its two costly phases, for a caller that does them elsewhere:
/// the page's analysis worker hands the exact neighbour search and the path scoring to a
/// pool of Web Workers. Same checks, inputs, result and warnings as `run_graph` with the exact
/// graph; the phases themselves are [`crate::knn`]'s and [`crate::graph_convexity`]'s.
pub struct GraphJob {
    pub x: Matrix,
    pub labels: Labels,
    pub request: GraphRequest,
    warnings: Vec<String>,
    subsample: Option<SubsampleNote>,
    timer: Timer,
    /// The pairs to score, once drawn.
    plan: Option<crate::graph_convexity::PathPlan>,
    graph: Option<NeighbourGraph>,
}

/// `None`, recording no inputs, unless the run builds the exact graph of at least `min_rows`
/// rows (after subsampling) and `workers` copies of them fit in memory.
pub fn begin_graph(files: &mut FileSet, request: &GraphRequest, min_rows: usize, workers: usize) -> Result<Option<GraphJob>> {
    let mut timer = files.start_run();
    let (x, labels, subsample, warnings) = graph_inputs(files, request, &mut timer)?;
    let k = request.options.k;
    if x.rows < min_rows || request.graph.resolve(x.rows) != GraphKind::Exact {
        files.used.clear();
        return Ok(None);
    }
    // Each pool worker holds the rows twice in wasm (as given and centred) and once in JS,
    // and this worker one more JS copy to send them: where that does not fit, one worker runs
    // the analysis (and applies the single-copy check itself).
    if check_graph_memory(files, request, &x, GraphKind::Exact, 3 * workers as u64 + 1).is_err() {
        files.used.clear();
        return Ok(None);
    }
    NeighbourGraph::check(x.rows, k)?;
    crate::graph_convexity::PathPlan::check(&labels, &request.options)?;
    Ok(Some(GraphJob { x, labels, request: request.clone(), warnings, subsample, timer, plan: None, graph: None }))
}

impl GraphJob {
    /// The pairs to score, drawn on first use (a summary needs no graph for them).
    pub fn plan(&mut self) -> Result<&crate::graph_convexity::PathPlan> {
        if self.plan.is_none() {
            self.plan = Some(crate::graph_convexity::PathPlan::draw(&self.labels, &self.request.options)?);
        }
        Ok(self.plan.as_ref().expect("drawn above"))
    }

    /// The exact neighbour lists of every row, as [`crate::knn::knn_exact`] gives them.
    pub fn set_neighbours(&mut self, knn: crate::knn::KnnLists) {
        self.graph = Some(NeighbourGraph::from_lists(knn));
        self.timer.lap("neighbours");
    }

    /// The envelope from the path score of every query of `plan` (`None`: no path).
    pub fn finish(
        mut self,
        files: &mut FileSet,
        scores: &[Option<f64>],
    ) -> Result<(Envelope<GraphAnalysis, GraphRequest>, Option<NeighbourGraph>)> {
        self.plan()?;
        let plan = self.plan.take().expect("drawn above");
        let graph = self.graph.take().ok_or_else(|| Error::input("the neighbour lists were not given"))?;
        if scores.len() != plan.num_queries() {
            return Err(Error::input(format!("{} path scores for {} pairs", scores.len(), plan.num_queries())));
        }
        let convexity = crate::graph_convexity::summarise(&graph, &self.labels, &plan, scores);
        self.timer.lap("paths and scores");
        graph_warnings(&convexity, &mut self.warnings);
        let neighbour_graph = GraphInfo::exact(self.request.graph);
        let whole = self.subsample.is_none().then_some(graph);
        let envelope = Envelope {
            schema: SCHEMA,
            analysis: "graph_convexity",
            parameters: self.request,
            inputs: std::mem::take(&mut files.used),
            result: GraphAnalysis { convexity, neighbour_graph },
            subsample: self.subsample,
            timings_ms: self.timer.0,
            warnings: self.warnings,
        };
        Ok((envelope, whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_computed_once_or_taken_from_the_caller() {
        let bytes = b"id\tlabel\n0\ta\n1\tb\n".to_vec();
        let source = Source { file: "y.tsv".into(), field: Some("label".into()) };
        let mut files = FileSet::new([("y.tsv".to_string(), bytes.clone())]);
        files.column(&source, "labels").unwrap();
        // `printf 'id\tlabel\n0\ta\n1\tb\n' | sha256sum`
        let computed = files.used[0].sha256.clone();
        assert_eq!(computed, "8bb781f096ff7b0d7ba321ae147a7d05b2e3ae0364edd34cf224ced197ce679b");
        // A digest given with the file is recorded as given (the caller vouches for it).
        let given = "ab".repeat(32);
        files.insert_with_digest("y.tsv".into(), bytes.clone(), given.clone()).unwrap();
        files.column(&source, "labels").unwrap();
        assert_eq!(files.used[1].sha256, given);
        // Replacing the file drops it.
        files.insert("y.tsv".into(), bytes.clone());
        files.column(&source, "labels").unwrap();
        assert_eq!(files.used[2].sha256, computed);
        let message = files.insert_with_digest("y.tsv".into(), bytes, "ABC".into()).unwrap_err().to_string();
        assert!(message.contains("y.tsv") && message.contains("not a SHA-256 digest"), "{message}");
    }

    #[test]
    fn a_file_read_when_added_is_used_as_read_and_a_bad_one_is_not_added() {
        let source = Source { file: "y.tsv".into(), field: Some("label".into()) };
        let mut files = FileSet::new([]);
        let summary = files.insert_parsed("y.tsv".into(), b"id\tlabel\n0\ta\n1\tb\n".to_vec(), None).unwrap();
        assert_eq!(summary, crate::io::read_file("y.tsv", b"id\tlabel\n0\ta\n1\tb\n").unwrap().summary());
        // The bytes are not parsed again: a later read uses what was parsed.
        files.bytes.insert("y.tsv".into(), b"not\ta table".to_vec());
        assert_eq!(files.column(&source, "labels").unwrap(), vec!["a", "b"]);
        let message = files.insert_parsed("bad.npy".into(), b"\x93NUMPY".to_vec(), None).unwrap_err().to_string();
        assert!(message.contains("bad.npy"), "{message}");
        assert!(files.content("bad.npy").is_err(), "a file that cannot be read is not added");
    }
}
