//! The file readers: every fixture against what numpy sees (tests/fixtures/expected.json,
//! written by tests/fixtures/make_fixtures.py), then malformed input, which must give an
//! error naming the file and the problem, never a panic.

use std::path::PathBuf;

use convexlens::io::{read_file, ArrayData, FileContent};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(name: &str) -> FileContent {
    read_file(name, &fixture(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Reading `bytes` as `name` fails with a message naming the file and containing `problem`.
fn assert_error(name: &str, bytes: &[u8], problem: &str) {
    match read_file(name, bytes) {
        Ok(content) => panic!(
            "{name}: expected an error about '{problem}', read {:?}",
            content.summary()
        ),
        Err(e) => {
            let e = e.to_string();
            assert!(
                e.starts_with(&format!("{name}: ")) && e.contains(problem),
                "{name}: '{e}' lacks '{problem}'"
            );
        }
    }
}

/// A version 1.0 `.npy` file with this header dict and these data bytes.
fn npy(header: &str, data: &[u8]) -> Vec<u8> {
    convexlens::io::npy_v1(header, data)
}

fn f32_npy(shape: &str, values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy(
        &format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"),
        &data,
    )
}

/// A safetensors file with this JSON header and these data bytes.
fn safetensors(header: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    bytes.extend(data);
    bytes
}

#[test]
fn every_fixture_reads_as_numpy_sees_it() {
    let expected: Value = serde_json::from_slice(&fixture("expected.json")).unwrap();
    let files = expected.as_object().unwrap();
    assert!(
        files.len() >= 39,
        "expected.json lists {} files",
        files.len()
    );
    for (file, want) in files {
        let content = read(file);
        assert_eq!(
            serde_json::to_value(content.format).unwrap(),
            want["format"],
            "{file}"
        );
        assert_eq!(json!(content.table), want["table"], "{file}");
        let arrays = want["arrays"].as_array().unwrap();
        assert_eq!(
            content.arrays.len(),
            arrays.len(),
            "{file}: {:?}",
            content.summary()
        );
        for (got, want) in content.arrays.iter().zip(arrays) {
            let at = format!("{file}: {}", got.name);
            assert_eq!(json!(got.name), want["name"], "{at}");
            assert_eq!(json!(got.shape), want["shape"], "{at}");
            assert_eq!(json!(got.dtype), want["dtype"], "{at}");
            let values = want["values"].as_array().unwrap();
            match (&got.data, want["kind"].as_str().unwrap()) {
                (ArrayData::Float(v), "float") => {
                    let want: Vec<f32> =
                        values.iter().map(|x| x.as_f64().unwrap() as f32).collect();
                    assert_eq!(v, &want, "{at}");
                }
                (ArrayData::Int(v), "int") => {
                    let want: Vec<i64> = values.iter().map(|x| x.as_i64().unwrap()).collect();
                    assert_eq!(v, &want, "{at}");
                }
                (ArrayData::Text(v), "text") => {
                    let want: Vec<&str> = values.iter().map(|x| x.as_str().unwrap()).collect();
                    assert_eq!(v, &want, "{at}");
                }
                (data, kind) => panic!("{at}: expected {kind} values, got {data:?}"),
            }
        }
    }
}

#[test]
fn matrices_from_every_kind_of_file() {
    let m = read("vectors.tsv").matrix(None).unwrap();
    assert_eq!((m.rows, m.cols), (6, 4));
    assert_eq!(read("f4.npy").matrix(None).unwrap().data.len(), 20);
    // The only 2-D array of an archive; a lone 1-D array counts as a column vector.
    assert_eq!((read("stored.npz").matrix(None).unwrap().rows), 6);
    let m = read("labels.npy").matrix(None).unwrap();
    assert_eq!(
        (m.rows, m.cols, m.data),
        (5, 1, vec![3.0, 1.0, 2.0, 1.0, 3.0])
    );
    // A table with a header: its numeric columns side by side (id, x, y), whatever is named.
    let m = read("table.csv").matrix(Some("ignored")).unwrap();
    assert_eq!((m.rows, m.cols), (4, 3));
    assert_eq!(m.row(1)[0], 2.0);
    assert_eq!(m.row(1)[2], -1.0);
    let m = read("tensors.safetensors").matrix(Some("weight")).unwrap();
    assert_eq!((m.rows, m.cols), (3, 4));
    assert_eq!(read("named.json").matrix(None).unwrap().rows, 3);
}

#[test]
fn matrix_errors_name_the_choices() {
    let cases = [
        (
            "tensors.safetensors",
            None,
            "several 2-D arrays, choose one of: half, weight",
        ),
        (
            "tensors.safetensors",
            Some("bias"),
            "no array named 'bias'; arrays are: half, ids, weight",
        ),
        (
            "unicode.npy",
            None,
            "no 2-D numeric array; arrays are: unicode (4 <U3)",
        ),
        (
            "unicode.npy",
            Some("unicode"),
            "'unicode' holds text, not numbers",
        ),
        ("empty.npy", None, "'empty' is empty (0x4)"),
        (
            "scalar.npy",
            Some("scalar"),
            "'scalar' is a single value, not a matrix",
        ),
        ("metadata.tsv", None, "no 2-D numeric array"),
    ];
    let text_table = read_file("meta.tsv", b"label\tsplit\ncat\ttrain\n").unwrap();
    let header_only = read_file("head.csv", b"a,b\n").unwrap();
    let inline = [
        (
            text_table,
            "no numeric column to use as a matrix; the columns are text: label, split",
        ),
        (header_only, "the table is empty (0x2)"),
    ];
    let files = cases
        .into_iter()
        .map(|(file, array, problem)| (read(file), array, problem));
    for (content, array, problem) in files.chain(inline.into_iter().map(|(c, p)| (c, None, p))) {
        let file = content.file.clone();
        match content.matrix(array) {
            Ok(m) => panic!("{file}: expected '{problem}', got {}x{}", m.rows, m.cols),
            Err(e) => assert!(
                e.to_string().starts_with(&file) && e.to_string().contains(problem),
                "{e}"
            ),
        }
    }
}

#[test]
fn columns_give_one_string_per_row() {
    // The Projector's single-column metadata: every line a label, the first one too.
    assert_eq!(
        read("metadata.tsv").column(None).unwrap(),
        ["word", "cat", "dog", "7", "bird", "fish"]
    );
    assert_eq!(
        read("metadata_multi.tsv").column(Some("count")).unwrap(),
        ["12", "5", "9", "1", "30", "2"]
    );
    assert_eq!(
        read("labels_numeric.tsv").column(None).unwrap()[5],
        "16777217"
    );
    assert_eq!(
        read("labels.npy").column(None).unwrap(),
        ["3", "1", "2", "1", "3"]
    );
    assert_eq!(
        read("records.json").column(Some("x")).unwrap(),
        ["0.5", "-1.25", "2"]
    );
    assert_eq!(
        read("table.csv").column(Some("label")).unwrap(),
        ["cat", "dog, big", "cat", ""]
    );
    assert_eq!(read("stored.npz").column(Some("names")).unwrap()[0], "a");
    assert_eq!(read("bool.npy").column(None).unwrap(), ["1", "0", "1"]);
    assert_eq!(
        read("scalars.json").column(None).unwrap(),
        ["cat", "dog", "cat"]
    );

    let e = read("metadata_multi.tsv")
        .column(Some("clas"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "metadata_multi.tsv: no column named 'clas'; columns are: word, count, split"
    );
    let e = read("metadata_multi.tsv")
        .column(None)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "metadata_multi.tsv: several columns, choose one of: word, count, split"
    );
    let e = read("stored.npz").column(None).unwrap_err().to_string();
    assert!(
        e.contains("several arrays, choose one of: labels, names"),
        "{e}"
    );
    let e = read("f4.npy").column(None).unwrap_err().to_string();
    assert_eq!(e, "f4.npy: 'f4' has shape 5x4, not one value per row");
}

#[test]
fn summary_lists_what_was_read() {
    let summary = serde_json::to_value(read("metadata_multi.tsv").summary()).unwrap();
    assert_eq!(
        summary,
        json!({"file": "metadata_multi.tsv", "format": "tsv", "table": true, "arrays": [
            {"name": "word", "shape": [6], "dtype": "text"},
            {"name": "count", "shape": [6], "dtype": "int64"},
            {"name": "split", "shape": [6], "dtype": "text"}]})
    );
}

#[test]
fn malformed_npy() {
    let header = |descr: &str, shape: &str| {
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
    };
    assert_error(
        "emb.npy",
        &npy(&header("<f4", "(1000, 768)"), &[0; 128]),
        "truncated: the header says 1000x768 float32 (3072000 bytes) but only 128 bytes follow",
    );
    let huge = npy(
        &header("<f8", "(4611686018427387904, 4611686018427387904)"),
        &[0; 8],
    );
    assert_error("huge.npy", &huge, "more than fits in memory");
    let f4 = fixture("f4.npy");
    assert_error(
        "f4.npy",
        &f4[..f4.len() - 1],
        "truncated: the header says 5x4 float32 (80 bytes) but only 79",
    );
    assert_error(
        "f4.npy",
        &f4[..20],
        "truncated: the header should be 118 bytes",
    );
    assert_error(
        "bad.npy",
        b"\x93NUMPX\x01\x00\x02\x00{}",
        "does not start with the magic bytes",
    );
    assert_error(
        "v9.npy",
        b"\x93NUMPY\x09\x00\x02\x00{}",
        "unsupported .npy format version 9.0",
    );
    assert_error(
        "dict.npy",
        &npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,}",
            &[0; 8],
        ),
        "bad header",
    );
    assert_error(
        "dict.npy",
        &npy("{'descr': '<f4', 'shape': (2,)}", &[0; 8]),
        "no 'fortran_order'",
    );
    assert_error(
        "c8.npy",
        &npy(&header("<c8", "(1,)"), &[0; 8]),
        "unsupported dtype '<c8'",
    );
    assert_error(
        "obj.npy",
        &npy(&header("|O", "(1,)"), &[0; 8]),
        "numeric or string dtype",
    );
    assert_error(
        "rec.npy",
        &npy(
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
            &[0; 4],
        ),
        "structured",
    );
    assert_error(
        "cube.npy",
        &npy(&header("<f4", "(2, 2, 2)"), &[0; 32]),
        "3 dimensions (shape 2x2x2)",
    );
    assert_error(
        "u8.npy",
        &npy(&header("<u8", "(1,)"), &[0xff; 8]),
        "does not fit in an int64",
    );
    assert_error(
        "utf.npy",
        &npy(&header("<U1", "(1,)"), &[0xff; 4]),
        "invalid unicode code point",
    );
}

#[test]
fn malformed_archives_and_tensors() {
    for name in [
        "e.npy",
        "e.npz",
        "e.safetensors",
        "e.csv",
        "e.tsv",
        "e.json",
        "e.txt",
    ] {
        assert_error(name, b"", "the file is empty");
    }
    assert_error(
        "x.npz",
        b"PK\x03\x04 this is not a zip archive",
        "not a valid .npz (zip) archive",
    );
    let mut corrupt = fixture("stored.npz");
    let at = corrupt.windows(6).position(|w| w == b"\x93NUMPY").unwrap();
    corrupt[at + 1] = b'X';
    assert_error("stored.npz", &corrupt, "emb.npy");
    assert_error("t.safetensors", &safetensors("{}", &[]), "no tensors");
    let mut past_end = 1000u64.to_le_bytes().to_vec();
    past_end.extend(b"{}");
    assert_error(
        "t.safetensors",
        &past_end,
        "the header length (1000 bytes) goes past the end of the file (2 bytes follow)",
    );
    assert_error(
        "t.safetensors",
        &safetensors("{not json", &[]),
        "not a valid safetensors file",
    );
    let c64 = r#"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#;
    assert_error(
        "t.safetensors",
        &safetensors(c64, &[0; 8]),
        "tensor 'a': unsupported dtype C64",
    );
    let cube = r#"{"a":{"dtype":"U8","shape":[2,1,2],"data_offsets":[0,4]}}"#;
    assert_error(
        "t.safetensors",
        &safetensors(cube, &[0; 4]),
        "tensor 'a': the array has 3 dimensions",
    );
    let short = r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
    assert_error(
        "t.safetensors",
        &safetensors(short, &[0; 12]),
        "not a valid safetensors file",
    );
    assert_error(
        "x.bin",
        b"\x00\x01\x02 binary",
        "unknown file format; supported formats are .npy, .npz",
    );
}

#[test]
fn malformed_text_and_json() {
    assert_error(
        "labels.csv",
        b"a,b,c,d\n1,2,3,4\n5,6,7,8\n\n1,2,3\n",
        "line 5 has 3 fields, expected 4",
    );
    assert_error(
        "m.tsv",
        b"x\ty\n1\t2\n\t3\n",
        "line 3, column 'x': empty cell in a column of numbers",
    );
    assert_error(
        "m.tsv",
        b"label\tx\ncat\t1\n\xff\t2\n",
        "line 3 is not valid UTF-8",
    );
    assert_error("bom.tsv", b"\xEF\xBB\xBF", "the file has no rows");
    assert_error(
        "r.json",
        b"[[1, 2], [3, 4], [5]]",
        "row [2] has 1 values, expected 2",
    );
    assert_error(
        "n.json",
        b"{\"emb\": [[[1, 2]]]}",
        "'emb': row [0] holds a list: nested too deep",
    );
    assert_error(
        "n.json",
        b"[[1, \"a\"]]",
        "row [0], value [1] is a string, expected a number",
    );
    assert_error(
        "n.json",
        b"[{\"a\": 1}, 2]",
        "row [1] is a number, but the first row is an object",
    );
    assert_error(
        "n.json",
        b"{\"emb\": 3}",
        "'emb' holds a number, expected a list",
    );
    assert_error("n.json", b"[1, 2", "invalid JSON");
    assert_error("n.json", "[".repeat(100_000).as_bytes(), "invalid JSON");
}

#[test]
fn non_finite_embeddings_are_refused() {
    let tsv = read_file("vectors.tsv", b"0.5\t1\nnan\t2\n").unwrap();
    let e = tsv.matrix(None).unwrap_err().to_string();
    assert!(
        e.starts_with("vectors.tsv: value at row 1, column 0 is NaN"),
        "{e}"
    );
    let npy = read_file(
        "emb.npy",
        &f32_npy("(2, 2)", &[0.0, 1.0, 2.0, f32::INFINITY]),
    )
    .unwrap();
    let e = npy.matrix(None).unwrap_err().to_string();
    assert!(
        e.starts_with("emb.npy: value at row 1, column 1 is inf"),
        "{e}"
    );
    // float64 beyond the f32 range becomes infinite when narrowed, and is refused too.
    let json = read_file("emb.json", b"[[1e300, 1.0]]").unwrap();
    assert!(json
        .matrix(None)
        .unwrap_err()
        .to_string()
        .contains("is inf"));
}

/// Binary fixtures, whose every truncation must be an error and every corruption must not panic.
const BINARY: [&str; 8] = [
    "f4.npy",
    "fortran.npy",
    "unicode.npy",
    "v2.npy",
    "v3.npy",
    "stored.npz",
    "deflated.npz",
    "tensors.safetensors",
];

#[test]
fn every_truncation_is_an_error() {
    for name in BINARY {
        let bytes = fixture(name);
        for end in 0..bytes.len() {
            match read_file(name, &bytes[..end]) {
                Ok(_) => panic!("{name} cut at {end} of {} bytes was read", bytes.len()),
                Err(e) => assert!(e.to_string().starts_with(&format!("{name}: ")), "{e}"),
            }
        }
    }
}

#[test]
fn no_corrupted_byte_panics() {
    for name in BINARY {
        let bytes = fixture(name);
        for at in 0..bytes.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut corrupt = bytes.clone();
                corrupt[at] ^= flip;
                if let Ok(content) = read_file(name, &corrupt) {
                    // Whatever was read must be usable without panicking too.
                    let _ = content.matrix(None);
                    let _ = content.column(None);
                }
            }
        }
    }
}
