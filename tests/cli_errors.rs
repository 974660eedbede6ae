//! The command line on bad input: it must never panic, must exit with code 2, print nothing on
//! stdout, and say on stderr which file (or option) is wrong and what the problem is. Plus one
//! success case: Embedding Projector style TSV files give the same result as .npy files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_convexlens");

/// A fresh directory for one test (unique per test name and process), removed when the
/// test passes and kept for inspection when it fails.
struct WorkDir(PathBuf);

impl std::ops::Deref for WorkDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn workdir(test: &str) -> WorkDir {
    let dir = std::env::temp_dir().join(format!("convexlens-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    WorkDir(dir)
}

/// A version 1.0 `.npy` file with this header dict and these data bytes.
fn npy_bytes(header: &str, data: &[u8]) -> Vec<u8> {
    convexlens::io::npy_v1(header, data)
}

/// A float32 matrix as `.npy`.
fn f32_npy(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    assert_eq!(values.len(), rows * cols);
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy_bytes(&format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}"), &data)
}

/// A float32 vector as `.npy`.
fn f32_vector_npy(values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy_bytes(&format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}", values.len()), &data)
}

/// Strings as a numpy unicode array (`<U{width}`, UTF-32LE, NUL-padded).
fn str_npy(values: &[&str]) -> Vec<u8> {
    let width = values.iter().map(|v| v.chars().count()).max().unwrap_or(1).max(1);
    let mut data = Vec::new();
    for v in values {
        let mut n = 0;
        for ch in v.chars() {
            data.extend((ch as u32).to_le_bytes());
            n += 1;
        }
        for _ in n..width {
            data.extend(0u32.to_le_bytes());
        }
    }
    npy_bytes(&format!("{{'descr': '<U{width}', 'fortran_order': False, 'shape': ({},), }}", values.len()), &data)
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A small deterministic 6×3 matrix with distinct rows.
fn small_matrix() -> Vec<f32> {
    (0..18).map(|i| ((i * 7 % 11) as f32) * 0.5 + (i / 3) as f32).collect()
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().expect("run the convexlens binary")
}

/// The run fails cleanly: exit code 2, empty stdout, one `convexlens: ` message on stderr
/// containing every one of `needles`, and no panic.
fn assert_fails(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
    assert_eq!(out.status.code(), Some(2), "{args:?}: exit status {:?}\nstderr: {stderr}\nstdout: {stdout}", out.status);
    assert!(stdout.is_empty(), "{args:?}: stdout should be empty, got:\n{stdout}");
    assert!(stderr.starts_with("convexlens: "), "{args:?}: stderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{args:?}: stderr lacks '{needle}':\n{stderr}");
    }
    stderr
}

fn assert_succeeds(dir: &Path, args: &[&str]) -> Value {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: exit status {:?}\nstderr: {stderr}", out.status);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e})"))
}

/// emb.npy (6×3) and lab.tsv (a a a b b b): valid inputs the error cases vary one at a time.
fn valid_inputs(dir: &Path) {
    write(dir, "emb.npy", f32_npy(6, 3, &small_matrix()));
    write(dir, "lab.tsv", "a\na\na\nb\nb\nb\n");
}

// ---------------------------------------------------------------------------------------
// Unreadable embeddings
// ---------------------------------------------------------------------------------------

#[test]
fn truncated_npy() {
    let dir = workdir("truncated_npy");
    valid_inputs(&dir);
    let full = f32_npy(6, 3, &small_matrix());
    // Cut 10 bytes off the data.
    write(&dir, "cut.npy", &full[..full.len() - 10]);
    assert_fails(&dir, &["graph", "cut.npy", "--labels", "lab.tsv"], &["cut.npy", "truncated"]);
    // Cut inside the header.
    write(&dir, "cut_header.npy", &full[..20]);
    assert_fails(&dir, &["graph", "cut_header.npy", "--labels", "lab.tsv"], &["cut_header.npy", "truncated"]);
    // Only the magic bytes.
    write(&dir, "magic.npy", &full[..6]);
    assert_fails(&dir, &["graph", "magic.npy", "--labels", "lab.tsv"], &["magic.npy", "truncated"]);
}

#[test]
fn empty_file() {
    let dir = workdir("empty_file");
    valid_inputs(&dir);
    write(&dir, "empty.npy", b"");
    assert_fails(&dir, &["graph", "empty.npy", "--labels", "lab.tsv"], &["empty.npy", "empty"]);
    write(&dir, "empty.tsv", b"");
    assert_fails(&dir, &["graph", "empty.tsv", "--labels", "lab.tsv"], &["empty.tsv", "empty"]);
    // An empty labels file is named as well.
    write(&dir, "nolabels.tsv", b"");
    assert_fails(&dir, &["graph", "emb.npy", "--labels", "nolabels.tsv"], &["nolabels.tsv", "empty"]);
}

#[test]
fn garbage_txt() {
    let dir = workdir("garbage_txt");
    valid_inputs(&dir);
    write(&dir, "words.txt", "hello world\nthis is not a matrix\n");
    assert_fails(&dir, &["graph", "words.txt", "--labels", "lab.tsv"], &["words.txt", "numeric"]);
    write(&dir, "binary.txt", b"\x00\xff\xfe\x01garbage\x80\x81\n\xc3\x28\n");
    assert_fails(&dir, &["graph", "binary.txt", "--labels", "lab.tsv"], &["binary.txt", "UTF-8"]);
    // A file with no known extension and no known magic bytes.
    write(&dir, "blob", b"just some bytes");
    assert_fails(&dir, &["graph", "blob", "--labels", "lab.tsv"], &["blob", "unknown file format"]);
}

#[test]
fn nan_in_embeddings_npy() {
    let dir = workdir("nan_in_embeddings_npy");
    valid_inputs(&dir);
    let mut values = small_matrix();
    values[5] = f32::NAN; // row 1, column 2
    write(&dir, "nan.npy", f32_npy(6, 3, &values));
    assert_fails(&dir, &["graph", "nan.npy", "--labels", "lab.tsv"], &["nan.npy", "row 1, column 2", "NaN", "finite"]);
    values[5] = 1.0;
    values[13] = f32::INFINITY; // row 4, column 1
    write(&dir, "inf.npy", f32_npy(6, 3, &values));
    assert_fails(&dir, &["graph", "inf.npy", "--labels", "lab.tsv"], &["inf.npy", "row 4, column 1", "finite"]);
    // Euclidean convexity checks the embeddings as well.
    write(&dir, "nan.npy", f32_npy(6, 3, &{
        let mut v = small_matrix();
        v[0] = f32::NAN;
        v
    }));
    assert_fails(&dir, &["euclidean", "nan.npy", "--labels", "lab.tsv", "--probe"], &["nan.npy", "row 0, column 0", "NaN"]);
}

#[test]
fn nan_in_embeddings_tsv() {
    let dir = workdir("nan_in_embeddings_tsv");
    valid_inputs(&dir);
    write(&dir, "nan.tsv", "1\t2\t3\n4\tnan\t6\n7\t8\t9\n1\t0\t0\n0\t1\t0\n0\t0\t1\n");
    assert_fails(&dir, &["graph", "nan.tsv", "--labels", "lab.tsv"], &["nan.tsv", "row 1, column 1", "NaN"]);
    write(&dir, "nan2.tsv", "1\t2\t3\n4\t5\t6\n7\t8\t9\n1\t0\t0\n0\t1\t0\n0\t0\tNaN\n");
    assert_fails(&dir, &["graph", "nan2.tsv", "--labels", "lab.tsv"], &["nan2.tsv", "row 5, column 2", "NaN"]);
}

#[test]
fn ragged_csv() {
    let dir = workdir("ragged_csv");
    valid_inputs(&dir);
    write(&dir, "ragged.csv", "1,2,3\n4,5,6\n7,8\n1,0,0\n0,1,0\n0,0,1\n");
    assert_fails(&dir, &["graph", "ragged.csv", "--labels", "lab.tsv"], &["ragged.csv", "line 3", "2 fields", "expected 3"]);
    // Ragged with a header.
    write(&dir, "ragged_header.csv", "x,y\n1,2\n3,4,5\n");
    assert_fails(&dir, &["graph", "ragged_header.csv", "--labels", "lab.tsv"], &["ragged_header.csv", "line 3"]);
}

#[test]
fn nonexistent_file() {
    let dir = workdir("nonexistent_file");
    valid_inputs(&dir);
    assert_fails(&dir, &["graph", "nope.npy", "--labels", "lab.tsv"], &["nope.npy", "cannot read"]);
    assert_fails(&dir, &["graph", "emb.npy", "--labels", "nope.tsv"], &["nope.tsv", "cannot read"]);
    assert_fails(&dir, &["layers", "emb.npy", "missing_layer.npy", "--labels", "lab.tsv"], &["missing_layer.npy", "cannot read"]);
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--head-w", "w.npy", "--head-b", "b.npy"],
        &["w.npy", "cannot read"],
    );
}

// ---------------------------------------------------------------------------------------
// Inputs that do not fit together
// ---------------------------------------------------------------------------------------

#[test]
fn label_count_differs_from_rows() {
    let dir = workdir("label_count_differs_from_rows");
    valid_inputs(&dir);
    write(&dir, "five.tsv", "a\na\nb\nb\nb\n");
    assert_fails(&dir, &["graph", "emb.npy", "--labels", "five.tsv"], &["five.tsv", "5 labels", "6 rows"]);
    write(&dir, "seven.tsv", "a\na\nb\nb\nb\nb\na\n");
    assert_fails(&dir, &["euclidean", "emb.npy", "--labels", "seven.tsv", "--probe"], &["seven.tsv", "7 labels", "6 rows"]);
    // A table column with the wrong length.
    write(&dir, "meta.tsv", "label\tsplit\na\ttrain\nb\ttest\n");
    assert_fails(&dir, &["graph", "emb.npy", "--labels", "meta.tsv:label"], &["meta.tsv:label", "2 labels", "6 rows"]);
}

#[test]
fn missing_label_column_lists_the_columns() {
    let dir = workdir("missing_label_column_lists_the_columns");
    valid_inputs(&dir);
    write(&dir, "meta.tsv", "label\tsplit\na\ttrain\na\ttest\na\ttrain\nb\ttest\nb\ttrain\nb\ttest\n");
    let e = assert_fails(&dir, &["graph", "emb.npy", "--labels", "meta.tsv:class"], &["meta.tsv", "'class'", "label", "split"]);
    assert!(e.contains("label, split"), "the available columns should be listed: {e}");
    // Same for a split column.
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "meta.tsv:label", "--probe", "--split", "meta.tsv:fold"],
        &["meta.tsv", "'fold'", "label, split"],
    );
}

#[test]
fn head_with_wrong_width() {
    let dir = workdir("head_with_wrong_width");
    valid_inputs(&dir);
    // Embeddings have 3 dimensions; W is 2×5 (neither out×in nor in×out).
    write(&dir, "w.npy", f32_npy(2, 5, &[1.0; 10]));
    write(&dir, "b.npy", f32_vector_npy(&[0.0, 0.0]));
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--head-w", "w.npy", "--head-b", "b.npy"],
        &["w.npy", "2x5", "3 dimensions"],
    );
    // Right width, bias of the wrong length.
    write(&dir, "w_ok.npy", f32_npy(2, 3, &[1.0; 6]));
    write(&dir, "b3.npy", f32_vector_npy(&[0.0, 0.0, 0.0]));
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--head-w", "w_ok.npy", "--head-b", "b3.npy"],
        &["w_ok.npy", "bias", "3 values", "expected 2"],
    );
    // Non-finite head weights are refused, naming the file.
    write(&dir, "w_nan.npy", f32_npy(2, 3, &[1.0, f32::NAN, 0.0, 1.0, 1.0, 1.0]));
    write(&dir, "b2.npy", f32_vector_npy(&[0.0, 0.0]));
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--head-w", "w_nan.npy", "--head-b", "b2.npy"],
        &["w_nan.npy", "row 0, column 1", "NaN"],
    );
    // Right shapes, but three outputs for two classes.
    write(&dir, "w3.npy", f32_npy(3, 3, &[1.0; 9]));
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--head-w", "w3.npy", "--head-b", "b3.npy"],
        &["3 outputs", "2 class names"],
    );
}

#[test]
fn euclidean_needs_a_head_or_probe() {
    let dir = workdir("euclidean_needs_a_head_or_probe");
    valid_inputs(&dir);
    assert_fails(&dir, &["euclidean", "emb.npy", "--labels", "lab.tsv"], &["--head-w", "--probe"]);
}

#[test]
fn k_zero() {
    let dir = workdir("k_zero");
    valid_inputs(&dir);
    assert_fails(&dir, &["graph", "emb.npy", "--labels", "lab.tsv", "--k", "0"], &["k must be at least 1"]);
    assert_fails(&dir, &["layers", "emb.npy", "--labels", "lab.tsv", "--k", "0"], &["k must be at least 1"]);
    assert_fails(&dir, &["correlate", "--pretrained", "emb.npy", "--finetuned", "emb.npy", "--labels", "lab.tsv", "--k", "0"], &[
        "k must be at least 1",
    ]);
}

/// `--paths 0` asks for zero pairs per class. The library refuses it
/// (`graph_convexity`: "the number of paths per class must be at least 1"), and so should
/// every command.
/// (`score_on_graph` checks it, so the page and every command refuse it alike.)
#[test]
fn paths_zero() {
    let dir = workdir("paths_zero");
    valid_inputs(&dir);
    assert_fails(&dir, &["graph", "emb.npy", "--labels", "lab.tsv", "--paths", "0"], &["at least 1"]);
    assert_fails(&dir, &["layers", "emb.npy", "--labels", "lab.tsv", "--paths", "0"], &["at least 1"]);
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--probe", "--paths", "0"],
        &["at least 1"],
    );
    assert_fails(&dir, &["euclidean", "emb.npy", "--labels", "lab.tsv", "--probe", "--points", "0"], &["at least 1"]);
    assert_fails(
        &dir,
        &["correlate", "--pretrained", "emb.npy", "--finetuned", "emb.npy", "--labels", "lab.tsv", "--paths", "0"],
        &["at least 1"],
    );
}

/// Malformed command lines are clap's: also exit code 2, nothing on stdout, no panic.
#[test]
fn bad_arguments() {
    let dir = workdir("bad_arguments");
    valid_inputs(&dir);
    for args in [
        &["graph", "emb.npy"][..],
        &["graph", "emb.npy", "--labels", "lab.tsv", "--k", "-1"],
        &["graph", "emb.npy", "--labels", "lab.tsv", "--k", "ten"],
        &["graph", "emb.npy", "--labels", "lab.tsv", "--no-such-flag"],
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--split", "lab.tsv"],
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--head-w", "emb.npy"],
        &["frobnicate"],
    ] {
        let out = run(&dir, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!stderr.contains("panicked") && !stderr.is_empty(), "{args:?}: {stderr}");
    }
    // --mlp needs weight,bias pairs.
    assert_fails(&dir, &["euclidean", "emb.npy", "--labels", "lab.tsv", "--mlp", "emb.npy"], &["--mlp", "pairs"]);
    // An unknown activation is named.
    write(&dir, "w1.npy", f32_npy(4, 3, &[0.5; 12]));
    write(&dir, "b1.npy", f32_vector_npy(&[0.0; 4]));
    write(&dir, "w2.npy", f32_npy(2, 4, &[0.5; 8]));
    write(&dir, "b2.npy", f32_vector_npy(&[0.0; 2]));
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "lab.tsv", "--mlp", "w1.npy,b1.npy,w2.npy,b2.npy", "--activation", "swish"],
        &["swish", "relu"],
    );
}

#[test]
fn bad_split_values_are_named() {
    let dir = workdir("bad_split_values_are_named");
    valid_inputs(&dir);
    write(&dir, "meta.tsv", "label\tsplit\na\ttrain\na\ttest\na\tmaybe\nb\ttest\nb\ttrain\nb\ttest\n");
    assert_fails(
        &dir,
        &["euclidean", "emb.npy", "--labels", "meta.tsv:label", "--probe", "--split", "meta.tsv:split"],
        &["meta.tsv:split", "row 2", "'maybe'"],
    );
}

#[test]
fn layers_with_different_row_counts() {
    let dir = workdir("layers_with_different_row_counts");
    valid_inputs(&dir);
    write(&dir, "short.npy", f32_npy(5, 3, &small_matrix()[..15]));
    assert_fails(&dir, &["layers", "emb.npy", "short.npy", "--labels", "lab.tsv"], &["short.npy", "5 rows", "emb.npy"]);
}

// ---------------------------------------------------------------------------------------
// Degenerate but readable data
// ---------------------------------------------------------------------------------------

/// Every class has one row, so no class has a pair to score. Two behaviours are sensible:
/// fail with a message saying so, or succeed with every class in `skipped`, a warning for
/// each, and no NaN passed off as a result. NaN scores are serialised by serde_json as
/// `null`, so a JSON `null` score (or baseline full of nulls) without an explanation is the
/// behaviour this test rejects.
/// The code now fails with a message saying that no class has a pair.
#[test]
fn all_singleton_classes() {
    let dir = workdir("all_singleton_classes");
    write(&dir, "emb.npy", f32_npy(6, 3, &small_matrix()));
    write(&dir, "single.tsv", "a\nb\nc\nd\ne\nf\n");
    check_no_class_scorable(&dir, &["graph", "emb.npy", "--labels", "single.tsv"]);
}

/// The same with Euclidean convexity and a linear head (same root cause: the CLI exits 0
/// with `"score": null, "sem": null`).
#[test]
fn all_singleton_classes_euclidean_head() {
    let dir = workdir("all_singleton_classes_euclidean_head");
    write(&dir, "emb.npy", f32_npy(6, 3, &small_matrix()));
    write(&dir, "single.tsv", "a\nb\nc\nd\ne\nf\n");
    write(&dir, "w.npy", f32_npy(2, 3, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]));
    write(&dir, "b.npy", f32_vector_npy(&[0.0, 0.0]));
    write(&dir, "head_classes.tsv", "a\nb\n");
    check_no_class_scorable(
        &dir,
        &["euclidean", "emb.npy", "--labels", "single.tsv", "--head-w", "w.npy", "--head-b", "b.npy", "--head-classes", "head_classes.tsv"],
    );
}

fn check_no_class_scorable(dir: &Path, args: &[&str]) {
    let out = run(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    match out.status.code() {
        Some(2) => {
            // A clean failure: it must say why.
            assert!(out.stdout.is_empty());
            assert!(
                stderr.contains("single.tsv") || stderr.contains("class"),
                "the message should name the labels or the classes: {stderr}"
            );
            assert!(stderr.contains("two") || stderr.contains('2'), "the message should say a class needs two rows: {stderr}");
        }
        Some(0) => {
            let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
            let skipped = v["skipped"].as_array().expect("skipped list");
            assert_eq!(skipped.len(), 6, "every class is skipped: {v}");
            assert!(v["classes"].as_array().unwrap().is_empty());
            let warnings = v["warnings"].as_array().expect("warnings");
            for label in ["a", "b", "c", "d", "e", "f"] {
                assert!(
                    warnings.iter().any(|w| w.as_str().unwrap_or("").contains(&format!("'{label}'"))),
                    "no warning about class {label}: {warnings:?}"
                );
            }
            // NaN must not leak out as a result: serde_json writes NaN as null.
            assert!(
                v["score"].is_number(),
                "{args:?}: score is {} (NaN serialised as null) when no class can be scored; \
                 expected an error or a warning-backed, well-defined result. sem: {}, baseline: {}",
                v["score"],
                v["sem"],
                v["baseline"]
            );
        }
        other => panic!("unexpected exit status {other:?}: {stderr}"),
    }
}

// ---------------------------------------------------------------------------------------
// Success: Embedding Projector TSV files
// ---------------------------------------------------------------------------------------

#[test]
fn projector_tsv_gives_the_same_result_as_npy() {
    let dir = workdir("projector_tsv_gives_the_same_result_as_npy");
    // 3 classes × 12 rows in 4 dimensions, overlapping a little so the score is not trivial.
    let (rows, cols) = (36, 4);
    let mut state = 12345u64;
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let names = ["cat", "dog", "owl"];
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for r in 0..rows {
        let c = r % 3;
        for j in 0..cols {
            let centre = if j == c { 1.5 } else { 0.0 };
            values.push(centre + uniform() * 2.0 - 1.0);
        }
        labels.push(names[c]);
    }
    // vectors.tsv: no header, one row per line; f32 Display round-trips exactly.
    let vectors: String = values.chunks(cols).map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("\t") + "\n").collect();
    write(&dir, "vectors.tsv", vectors);
    // metadata.tsv: a header, then label and split per row.
    let mut meta = String::from("label\tsplit\n");
    for (r, l) in labels.iter().enumerate() {
        meta.push_str(&format!("{l}\t{}\n", if r % 2 == 0 { "train" } else { "test" }));
    }
    write(&dir, "meta.tsv", meta);
    write(&dir, "emb.npy", f32_npy(rows, cols, &values));
    write(&dir, "labels.npy", str_npy(&labels));

    let tsv = assert_succeeds(&dir, &["graph", "vectors.tsv", "--labels", "meta.tsv:label", "--k", "5"]);
    let npy = assert_succeeds(&dir, &["graph", "emb.npy", "--labels", "labels.npy", "--k", "5"]);
    assert!(tsv["score"].is_number(), "{tsv}");
    assert_eq!(tsv["score"], npy["score"], "same data, same score");
    assert_eq!(tsv["classes"], npy["classes"]);
    assert_eq!(tsv["baseline"], npy["baseline"]);
    assert_eq!(tsv["edges"], npy["edges"]);
    assert_eq!(tsv["inputs"][0]["shape"], serde_json::json!([rows, cols]));
    assert_eq!(tsv["inputs"][1]["shape"], serde_json::json!([rows]));
    let classes: Vec<&str> = tsv["classes"].as_array().unwrap().iter().map(|c| c["label"].as_str().unwrap()).collect();
    assert_eq!(classes, names);
    let score = tsv["score"].as_f64().unwrap();
    assert!(score > 0.0 && score <= 100.0, "{score}");

    // The same split column drives the probe: 18 test rows scored.
    let e = assert_succeeds(
        &dir,
        &["euclidean", "vectors.tsv", "--labels", "meta.tsv:label", "--probe", "--split", "meta.tsv:split"],
    );
    assert_eq!(e["rows_scored"], 18);
    assert_eq!(e["probe"]["held_out_rows"], 18);
}
