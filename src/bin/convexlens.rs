//! The native command line: the same analyses as the page, for scripts and for data too large
//! for a browser tab. Prints one JSON result on stdout; errors go to stderr with exit code 2.

use clap::{Args, Parser, Subcommand};
use convexlens::analysis::{
    self, CorrelateRequest, EuclideanRequest, FileSet, GraphRequest, HeadSpec, LayersRequest, MemorizationRequest, Source,
};
use convexlens::memorization::SubsetOptions;
use convexlens::memorization_report::ReportOptions;
use convexlens::mitigation::{ConsistencyOptions, DfrOptions};
use convexlens::mlp::MlpOptions;
use convexlens::tracing::{Ablation, TracingOptions};
use convexlens::euclidean_convexity::EuclideanOptions;
use convexlens::graph_convexity::GraphOptions;
use convexlens::heads::Activation;
use convexlens::logistic::LogisticOptions;
use convexlens::progress::Progress;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

#[derive(Parser)]
#[command(name = "convexlens", version, about = "Convexity of class regions in embeddings (Tětková et al. 2025)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print progress to stderr.
    #[arg(long, global = true)]
    progress: bool,
}

/// FILE, or FILE:COLUMN for a column of a table, or FILE:ARRAY for an array in .npz etc.
const SOURCE_HELP: &str = "FILE or FILE:COLUMN";

#[derive(Args)]
struct GraphArgs {
    /// Neighbours per row in the k-NN graph.
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Largest number of pairs per class (sampled beyond it).
    #[arg(long, default_value_t = 5000)]
    paths: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Label permutations for the chance baseline (0 = none).
    #[arg(long, default_value_t = 5)]
    baseline: usize,
    /// Use at most this many rows per class (seeded stratified subsample).
    #[arg(long)]
    per_class: Option<usize>,
}

impl GraphArgs {
    fn options(&self) -> GraphOptions {
        GraphOptions { k: self.k, n_paths: self.paths, seed: self.seed, baseline: self.baseline }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Graph convexity of every class.
    Graph {
        #[arg(value_name = "EMB")]
        embeddings: String,
        #[arg(long, value_name = SOURCE_HELP)]
        labels: String,
        #[command(flatten)]
        graph: GraphArgs,
        /// Neighbour graph: exact, approximate (NN-descent; its recall is estimated and
        /// reported), or auto (approximate above 20,000 rows).
        #[arg(long = "graph", default_value = "auto", value_name = "exact|approximate|auto")]
        kind: String,
    },
    /// Euclidean convexity with a head (--head-w/--head-b, or --mlp) or a linear probe (--probe).
    Euclidean {
        #[arg(value_name = "EMB")]
        embeddings: String,
        #[arg(long, value_name = SOURCE_HELP)]
        labels: String,
        #[arg(long, requires = "head_b", conflicts_with_all = ["probe", "mlp"])]
        head_w: Option<String>,
        #[arg(long, requires = "head_w")]
        head_b: Option<String>,
        /// MLP head as W1,B1,W2,B2,... (one weight and bias file per dense layer).
        #[arg(long, value_delimiter = ',', conflicts_with = "probe")]
        mlp: Vec<String>,
        #[arg(long, default_value = "relu")]
        activation: String,
        /// Class name of each head output, in order (default: sorted labels).
        #[arg(long, value_name = SOURCE_HELP)]
        head_classes: Option<String>,
        /// Fit a linear probe here instead of using a head.
        #[arg(long)]
        probe: bool,
        /// Train/test column for the probe (else it is cross-fitted).
        #[arg(long, value_name = SOURCE_HELP, requires = "probe")]
        split: Option<String>,
        #[arg(long, default_value_t = 10)]
        points: usize,
        #[arg(long, default_value_t = 5000)]
        paths: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Probe's inverse regularisation strength.
        #[arg(long, default_value_t = 1.0)]
        c: f64,
        #[arg(long)]
        per_class: Option<usize>,
    },
    /// One graph convexity result per layer (or model) file, same rows in each.
    Layers {
        #[arg(value_name = "EMB", required = true)]
        layers: Vec<String>,
        #[arg(long, value_name = SOURCE_HELP)]
        labels: String,
        /// Also Euclidean convexity with a cross-fitted linear probe per layer.
        #[arg(long)]
        euclidean: bool,
        #[command(flatten)]
        graph: GraphArgs,
    },
    /// Memorization under spurious correlations (You et al. 2025): group table, per-example
    /// memorization, critical-neuron tracing, mitigation.
    Memorization {
        #[arg(value_name = "EMB")]
        embeddings: String,
        /// Test rows in their own file (then columns cover EMB's rows followed by these).
        #[arg(long)]
        test_embeddings: Option<String>,
        #[arg(long, value_name = SOURCE_HELP)]
        labels: String,
        /// The spurious attribute; groups are (label, attribute).
        #[arg(long, value_name = SOURCE_HELP, required_unless_present = "group")]
        attr: Option<String>,
        /// An explicit group id per row instead of (label, attribute).
        #[arg(long, value_name = SOURCE_HELP)]
        group: Option<String>,
        /// train/test per row.
        #[arg(long, value_name = SOURCE_HELP, required_unless_present = "test_embeddings")]
        split: Option<String>,
        /// Row ids shown beside the most memorized rows.
        #[arg(long, value_name = SOURCE_HELP)]
        ids: Option<String>,
        /// Minority groups by name (default: share of training rows below 1/#groups).
        #[arg(long, value_delimiter = ';')]
        minority: Option<Vec<String>>,
        #[arg(long, requires = "head_b")]
        head_w: Option<String>,
        #[arg(long, requires = "head_w")]
        head_b: Option<String>,
        /// Heads refitted on random subsets for the memorization score (0 = skip).
        #[arg(long, default_value_t = 100)]
        models: usize,
        /// Share of training rows per refit.
        #[arg(long, default_value_t = 0.7)]
        fraction: f64,
        /// Ridge leave-one-out memorization with this alpha.
        #[arg(long)]
        ridge_alpha: Option<f64>,
        /// Critical-neuron tracing of the embedding dimensions.
        #[arg(long)]
        trace: bool,
        /// Ablation for tracing: zero, mean or noise.
        #[arg(long, default_value = "zero")]
        ablation: String,
        /// Also train a one-hidden-layer MLP head and trace its hidden units.
        #[arg(long)]
        trace_mlp: bool,
        /// Mitigation before/after: the paper's consistency training and DFR.
        #[arg(long)]
        mitigate: bool,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Per class: pretrained graph convexity against fine-tuned recall, with correlations.
    Correlate {
        #[arg(long)]
        pretrained: String,
        #[arg(long)]
        finetuned: String,
        #[arg(long, value_name = SOURCE_HELP)]
        labels: String,
        /// Predicted class per row from the fine-tuned model (else a cross-validated probe).
        #[arg(long, value_name = SOURCE_HELP)]
        predictions: Option<String>,
        #[command(flatten)]
        graph: GraphArgs,
    },
}

/// Reads every file named in the arguments (the part before any `:field` when the full text
/// is not itself a file) into a FileSet.
struct Inputs {
    files: Vec<(String, Vec<u8>)>,
}

impl Inputs {
    fn source(&mut self, text: &str) -> Result<Source, String> {
        let source = Source::parse(text, |p| Path::new(p).is_file());
        if !self.files.iter().any(|(n, _)| *n == source.file) {
            let bytes = std::fs::read(&source.file).map_err(|e| format!("{}: cannot read: {e}", source.file))?;
            self.files.push((source.file.clone(), bytes));
        }
        Ok(source)
    }
}

struct StderrProgress {
    enabled: bool,
    last: String,
}

impl Progress for StderrProgress {
    fn report(&mut self, stage: &str, fraction: f64) -> convexlens::Result<()> {
        if self.enabled {
            let line = format!("{stage}: {:.0}%", 100.0 * fraction);
            if line != self.last {
                eprintln!("{line}");
                self.last = line;
            }
        }
        Ok(())
    }
}

fn print<T: Serialize>(value: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| e.to_string())
}

fn run(cli: Cli) -> Result<(), String> {
    let mut inputs = Inputs { files: Vec::new() };
    let mut progress = StderrProgress { enabled: cli.progress, last: String::new() };
    let fail = |e: convexlens::Error| e.to_string();
    match cli.command {
        Command::Graph { embeddings, labels, graph, kind } => {
            let request = GraphRequest {
                embeddings: inputs.source(&embeddings)?,
                labels: inputs.source(&labels)?,
                options: graph.options(),
                per_class: graph.per_class,
                graph: kind.parse().map_err(fail)?,
                memory_limit_mib: None,
            };
            let mut files = FileSet::new(inputs.files);
            print(&analysis::run_graph(&mut files, &request, &mut progress).map_err(fail)?.0)
        }
        Command::Euclidean {
            embeddings,
            labels,
            head_w,
            head_b,
            mlp,
            activation,
            head_classes,
            probe,
            split,
            points,
            paths,
            seed,
            c,
            per_class,
        } => {
            let mut layers = Vec::new();
            if let (Some(w), Some(b)) = (head_w, head_b) {
                layers.push((inputs.source(&w)?, inputs.source(&b)?));
            }
            if mlp.len() % 2 != 0 {
                return Err("--mlp needs weight,bias pairs: W1,B1,W2,B2,...".into());
            }
            for pair in mlp.chunks(2) {
                layers.push((inputs.source(&pair[0])?, inputs.source(&pair[1])?));
            }
            if layers.is_empty() && !probe {
                return Err("give a head (--head-w and --head-b, or --mlp) or --probe".into());
            }
            let head = if layers.is_empty() {
                None
            } else {
                Some(HeadSpec {
                    layers,
                    activation: activation.parse::<Activation>().map_err(fail)?,
                    classes: head_classes.map(|h| inputs.source(&h)).transpose()?,
                })
            };
            let request = EuclideanRequest {
                embeddings: inputs.source(&embeddings)?,
                labels: inputs.source(&labels)?,
                head,
                split: split.map(|s| inputs.source(&s)).transpose()?,
                options: EuclideanOptions {
                    n_points: points,
                    n_paths: paths,
                    seed,
                    probe: LogisticOptions { c, ..LogisticOptions::default() },
                    ..EuclideanOptions::default()
                },
                per_class,
            };
            let mut files = FileSet::new(inputs.files);
            print(&analysis::run_euclidean(&mut files, &request, &mut progress).map_err(fail)?)
        }
        Command::Layers { layers, labels, euclidean, graph } => {
            let request = LayersRequest {
                layers: layers.iter().map(|l| inputs.source(l)).collect::<Result<_, _>>()?,
                labels: inputs.source(&labels)?,
                graph: graph.options(),
                euclidean: euclidean.then(|| EuclideanOptions { seed: graph.seed, ..EuclideanOptions::default() }),
                per_class: graph.per_class,
                memory_limit_mib: None,
            };
            let mut files = FileSet::new(inputs.files);
            print(&analysis::run_layers(&mut files, &request, &mut progress).map_err(fail)?)
        }
        Command::Memorization {
            embeddings,
            test_embeddings,
            labels,
            attr,
            group,
            split,
            ids,
            minority,
            head_w,
            head_b,
            models,
            fraction,
            ridge_alpha,
            trace,
            ablation,
            trace_mlp,
            mitigate,
            seed,
        } => {
            let ablation = match ablation.as_str() {
                "zero" => Ablation::Zero,
                "mean" => Ablation::Mean,
                "noise" => Ablation::Noise,
                other => return Err(format!("unknown ablation '{other}' (use zero, mean or noise)")),
            };
            let head = match (head_w, head_b) {
                (Some(w), Some(b)) => Some(HeadSpec {
                    layers: vec![(inputs.source(&w)?, inputs.source(&b)?)],
                    activation: Activation::Relu,
                    classes: None,
                }),
                _ => None,
            };
            let options = ReportOptions {
                memorization: (models > 0).then(|| SubsetOptions { models, fraction, seed, ..SubsetOptions::default() }),
                ridge_alpha,
                tracing: (trace || trace_mlp).then(|| TracingOptions { ablation, seed, ..TracingOptions::default() }),
                mlp: trace_mlp.then(|| MlpOptions { seed, ..MlpOptions::default() }),
                consistency: mitigate.then(|| ConsistencyOptions { seed, ..ConsistencyOptions::default() }),
                dfr: mitigate.then(|| DfrOptions { seed, ..DfrOptions::default() }),
                probe: LogisticOptions::default(),
            };
            let request = MemorizationRequest {
                embeddings: inputs.source(&embeddings)?,
                test_embeddings: test_embeddings.map(|t| inputs.source(&t)).transpose()?,
                labels: inputs.source(&labels)?,
                attr: attr.map(|a| inputs.source(&a)).transpose()?,
                group: group.map(|g| inputs.source(&g)).transpose()?,
                split: split.map(|s| inputs.source(&s)).transpose()?,
                ids: ids.map(|i| inputs.source(&i)).transpose()?,
                minority,
                head,
                options,
            };
            let mut files = FileSet::new(inputs.files);
            print(&analysis::run_memorization(&mut files, &request, &mut progress).map_err(fail)?)
        }
        Command::Correlate { pretrained, finetuned, labels, predictions, graph } => {
            let request = CorrelateRequest {
                pretrained: inputs.source(&pretrained)?,
                finetuned: inputs.source(&finetuned)?,
                labels: inputs.source(&labels)?,
                predictions: predictions.map(|p| inputs.source(&p)).transpose()?,
                graph: graph.options(),
                probe: LogisticOptions::default(),
            };
            let mut files = FileSet::new(inputs.files);
            print(&analysis::run_correlate(&mut files, &request, &mut progress).map_err(fail)?)
        }
    }
}

fn main() {
    if let Err(message) = run(Cli::parse()) {
        eprintln!("convexlens: {message}");
        std::process::exit(2);
    }
}
