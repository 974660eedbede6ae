//! Readers: bytes of a file in, named arrays out. No file system here, so the same code runs
//! in the browser. Every error names the file and says what is wrong.
//!
//! Interface used by the rest of the crate (the readers helper fills in the formats):
//! - [`read_file`] detects the format from the name (then the magic bytes) and parses.
//! - [`FileContent::matrix`] gives a 2-D float matrix for embeddings or head weights.
//! - [`FileContent::column`] gives one string per row for labels, groups or splits.
//!
//! The inputs every algorithm takes: a row-major f32 matrix and per-row class labels.
//!
//! Formats: `.npy` (versions 1-3), `.npz`, `.safetensors`, `.csv`, `.tsv` (and `.txt`, sniffed
//! as one of them), `.json`. Numbers are kept as `f32` (float64 is narrowed) or `i64`; arrays
//! may have 0, 1 or 2 dimensions. Malformed input of any kind gives an [`Error`], never a panic:
//! sizes are computed with checked arithmetic and compared with the bytes present before
//! anything is allocated.

mod element;
mod json;
mod npy;
mod npz;
mod safetensors;
mod text;

pub use npy::{npy_f32, npy_v1};
use serde::Serialize;

use crate::data::Matrix;
use crate::error::{Error, Result};

/// The readers of each format report a bare message; [`read_file`] prefixes the file name.
type Parsed<T> = std::result::Result<T, String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Npy,
    Npz,
    Safetensors,
    Csv,
    Tsv,
    Json,
}

/// The values of an array, flattened in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    /// Every floating-point type; float64 is narrowed to f32, the precision all algorithms use.
    Float(Vec<f32>),
    /// Booleans (0/1) and every integer type.
    Int(Vec<i64>),
    Text(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: ArrayData,
    /// The type as the file spells it, e.g. "<f4", "F16", "int64", "text".
    pub dtype: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileContent {
    pub file: String,
    pub format: Format,
    pub arrays: Vec<NamedArray>,
    /// True when the arrays are the columns of a table with a header.
    pub table: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    pub file: String,
    pub format: Format,
    pub arrays: Vec<ArraySummary>,
    pub table: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArraySummary {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
}

const SUPPORTED: &str = ".npy, .npz, .safetensors, .csv, .tsv, .txt, .json";
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a whole file. `file_name` picks the format (by extension, else by magic bytes) and
/// names the file in errors; the array of a single-array file is named after its stem.
pub fn read_file(file_name: &str, bytes: &[u8]) -> Result<FileContent> {
    let fail = |message: String| Error::parse(file_name, message);
    if bytes.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    let format = detect_format(file_name, bytes).ok_or_else(|| {
        fail(format!(
            "unknown file format; supported formats are {SUPPORTED}"
        ))
    })?;
    let stem = file_stem(file_name);
    let (arrays, table) = match format {
        Format::Npy => (vec![npy::read(stem, bytes).map_err(fail)?], false),
        Format::Npz => (npz::read(bytes).map_err(fail)?, false),
        Format::Safetensors => (safetensors::read(bytes).map_err(fail)?, false),
        Format::Csv => text::read(stem, bytes, b',').map_err(fail)?,
        Format::Tsv => text::read(stem, bytes, b'\t').map_err(fail)?,
        Format::Json => json::read(stem, bytes).map_err(fail)?,
    };
    Ok(FileContent {
        file: file_name.to_string(),
        format,
        arrays,
        table,
    })
}

fn detect_format(file_name: &str, bytes: &[u8]) -> Option<Format> {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("npy") => return Some(Format::Npy),
        Some("npz") => return Some(Format::Npz),
        Some("safetensors") => return Some(Format::Safetensors),
        Some("csv") => return Some(Format::Csv),
        Some("tsv") => return Some(Format::Tsv),
        Some("json") => return Some(Format::Json),
        Some("txt") => {
            let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
            return Some(if first_line.contains(&b'\t') {
                Format::Tsv
            } else {
                Format::Csv
            });
        }
        _ => {}
    }
    let text = bytes.strip_prefix(BOM).unwrap_or(bytes).trim_ascii_start();
    if bytes.starts_with(npy::MAGIC) {
        Some(Format::Npy)
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some(Format::Npz)
    } else if safetensors::looks_like(bytes) {
        Some(Format::Safetensors)
    } else if text.starts_with(b"{") || text.starts_with(b"[") {
        Some(Format::Json)
    } else {
        None
    }
}

/// "data/vectors.tsv" → "vectors".
fn file_stem(file_name: &str) -> &str {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    }
}

/// Arrays of more than two dimensions have no meaning for the algorithms, so they are refused.
fn check_dimensions(shape: &[usize]) -> Parsed<()> {
    if shape.len() > 2 {
        return Err(format!(
            "the array has {} dimensions (shape {}); only 0-, 1- and 2-D arrays are supported",
            shape.len(),
            shape_text(shape)
        ));
    }
    Ok(())
}

/// "1000x768", "5", or "()" for a single value.
fn shape_text(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "()".into();
    }
    shape
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("x")
}

impl ArrayData {
    fn as_f32(&self) -> Option<Vec<f32>> {
        match self {
            ArrayData::Float(v) => Some(v.clone()),
            ArrayData::Int(v) => Some(v.iter().map(|&x| x as f32).collect()),
            ArrayData::Text(_) => None,
        }
    }

    fn to_strings(&self) -> Vec<String> {
        match self {
            ArrayData::Int(v) => v.iter().map(i64::to_string).collect(),
            // Display prints whole floats without ".0" and others in their shortest form.
            ArrayData::Float(v) => v.iter().map(f32::to_string).collect(),
            ArrayData::Text(v) => v.clone(),
        }
    }
}

impl NamedArray {
    fn is_numeric(&self) -> bool {
        !matches!(self.data, ArrayData::Text(_))
    }

    /// 1-D, or 2-D with a single column.
    fn is_column(&self) -> bool {
        matches!(self.shape.as_slice(), [_] | [_, 1])
    }

    fn describe(&self) -> String {
        format!("{} ({} {})", self.name, shape_text(&self.shape), self.dtype)
    }
}

impl FileContent {
    /// Embeddings (or head weights) as a row-major f32 matrix.
    ///
    /// `array` names an array (npz/safetensors member, JSON key); it is ignored for a table with
    /// a header, whose numeric columns are put side by side. With `None` the only 2-D numeric
    /// array is taken; a 1-D numeric array counts as n×1 when it is the only array.
    pub fn matrix(&self, array: Option<&str>) -> Result<Matrix> {
        let (what, rows, cols, data) =
            if self.table {
                self.table_matrix()?
            } else {
                let chosen = match array {
                    Some(name) => self.find(name)?,
                    None => self.only_matrix()?,
                };
                let (rows, cols) = match *chosen.shape.as_slice() {
                    [rows] => (rows, 1),
                    [rows, cols] => (rows, cols),
                    _ => {
                        return Err(self
                            .error(format!("'{}' is a single value, not a matrix", chosen.name)))
                    }
                };
                let data = chosen.data.as_f32().ok_or_else(|| {
                    self.error(format!("'{}' holds text, not numbers", chosen.name))
                })?;
                (format!("'{}'", chosen.name), rows, cols, data)
            };
        if rows == 0 || cols == 0 {
            return Err(self.error(format!("{what} is empty ({rows}x{cols})")));
        }
        let matrix = Matrix::new(rows, cols, data)?;
        matrix.check_finite(&self.file)?;
        Ok(matrix)
    }

    /// One string per row (labels, groups, splits) from a 1-D or n×1 array or a table column.
    /// `None` takes the only such column. Ints print as "3"; whole floats too, other floats in
    /// their shortest form; text as it is.
    pub fn column(&self, name: Option<&str>) -> Result<Vec<String>> {
        let chosen = match name {
            Some(name) => self.find(name)?,
            None => {
                let columns: Vec<&NamedArray> =
                    self.arrays.iter().filter(|a| a.is_column()).collect();
                match (columns.as_slice(), self.arrays.as_slice()) {
                    ([only], _) => *only,
                    ([], [only]) => only,
                    ([], _) => {
                        return Err(self.error(format!(
                            "no 1-D array to read one value per row from; arrays are: {}",
                            self.described()
                        )))
                    }
                    _ => {
                        return Err(self.error(format!(
                            "several {}s, choose one of: {}",
                            self.noun(),
                            names(&columns)
                        )))
                    }
                }
            }
        };
        if !chosen.is_column() {
            return Err(self.error(format!(
                "'{}' has shape {}, not one value per row",
                chosen.name,
                shape_text(&chosen.shape)
            )));
        }
        Ok(chosen.data.to_strings())
    }

    /// Names, shapes and types of what was read, to show the user.
    pub fn summary(&self) -> FileSummary {
        FileSummary {
            file: self.file.clone(),
            format: self.format,
            arrays: self
                .arrays
                .iter()
                .map(|a| ArraySummary {
                    name: a.name.clone(),
                    shape: a.shape.clone(),
                    dtype: a.dtype.clone(),
                })
                .collect(),
            table: self.table,
        }
    }

    fn error(&self, message: String) -> Error {
        Error::parse(&self.file, message)
    }

    /// What the arrays are called in messages: the columns of a text file, else arrays.
    fn noun(&self) -> &'static str {
        match self.format {
            Format::Csv | Format::Tsv => "column",
            _ => "array",
        }
    }

    fn described(&self) -> String {
        self.arrays
            .iter()
            .map(NamedArray::describe)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn find(&self, name: &str) -> Result<&NamedArray> {
        self.arrays.iter().find(|a| a.name == name).ok_or_else(|| {
            let all: Vec<&NamedArray> = self.arrays.iter().collect();
            let noun = self.noun();
            self.error(format!(
                "no {noun} named '{name}'; {noun}s are: {}",
                names(&all)
            ))
        })
    }

    fn only_matrix(&self) -> Result<&NamedArray> {
        let matrices: Vec<&NamedArray> = self
            .arrays
            .iter()
            .filter(|a| a.is_numeric() && a.shape.len() == 2)
            .collect();
        match (matrices.as_slice(), self.arrays.as_slice()) {
            ([only], _) => Ok(only),
            ([], [only]) if only.is_numeric() && only.shape.len() == 1 => Ok(only),
            ([], _) => Err(self.error(format!(
                "no 2-D numeric array; arrays are: {}",
                self.described()
            ))),
            _ => Err(self.error(format!(
                "several 2-D arrays, choose one of: {}",
                names(&matrices)
            ))),
        }
    }

    /// The numeric columns of a table, side by side.
    fn table_matrix(&self) -> Result<(String, usize, usize, Vec<f32>)> {
        let mut columns: Vec<std::vec::IntoIter<f32>> = self
            .arrays
            .iter()
            .filter_map(|a| a.data.as_f32())
            .map(Vec::into_iter)
            .collect();
        if columns.is_empty() {
            let all: Vec<&NamedArray> = self.arrays.iter().collect();
            return Err(self.error(format!(
                "no numeric column to use as a matrix; the columns are text: {}",
                names(&all)
            )));
        }
        let rows = columns.first().map_or(0, ExactSizeIterator::len);
        let cols = columns.len();
        let mut data = Vec::with_capacity(rows.saturating_mul(cols));
        for _ in 0..rows {
            data.extend(columns.iter_mut().filter_map(Iterator::next));
        }
        Ok(("the table".into(), rows, cols, data))
    }
}

fn names(arrays: &[&NamedArray]) -> String {
    arrays
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_the_extension_then_the_magic_bytes() {
        assert_eq!(detect_format("A.NPY", b"x"), Some(Format::Npy));
        assert_eq!(detect_format("v.txt", b"1\t2\n"), Some(Format::Tsv));
        assert_eq!(detect_format("v.txt", b"1,2\n"), Some(Format::Csv));
        assert_eq!(
            detect_format("blob", b"\x93NUMPY\x01\x00"),
            Some(Format::Npy)
        );
        assert_eq!(detect_format("blob", b"PK\x03\x04...."), Some(Format::Npz));
        assert_eq!(
            detect_format("blob", b"\x02\0\0\0\0\0\0\0{}"),
            Some(Format::Safetensors)
        );
        assert_eq!(
            detect_format("blob", b"\xEF\xBB\xBF [1]"),
            Some(Format::Json)
        );
        assert_eq!(detect_format("blob", b"hello"), None);
        let e = read_file("x.bin", b"hello").unwrap_err().to_string();
        assert!(
            e.starts_with("x.bin: unknown file format") && e.contains(".safetensors"),
            "{e}"
        );
    }

    #[test]
    fn stems_drop_folders_and_the_extension() {
        assert_eq!(file_stem("data/run.1/vectors.tsv"), "vectors");
        assert_eq!(file_stem("C:\\x\\emb.npy"), "emb");
        assert_eq!(file_stem(".hidden"), ".hidden");
    }

    #[test]
    fn floats_print_whole_numbers_without_a_fraction() {
        let data = ArrayData::Float(vec![3.0, 0.1, -2.5]);
        assert_eq!(data.to_strings(), ["3", "0.1", "-2.5"]);
    }
}
